"""The collection as a static book (`make book`), checked in a headless browser.

Copies README.md, the executed notebooks and docs/glossary.md, docs/references.md
(each skipped if missing) with book/_config.yml into build/book-src/, writes a
table of contents for the notebooks present, builds the site with Jupyter Book
1.x (Sphinx; the notebooks are NOT executed: their stored outputs and figures
are shown) and puts it in build/book/. Then opens pages in Debian's headless
Chromium (Playwright) and asserts that each shows its figures (img elements
that loaded, natural width > 0), links to another notebook's page that exists,
and has a search box.

    python tools/book.py [--notebooks 00 01] [--no-check]
    python tools/book.py --requirements     # the [book] extra, for pip
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "build" / "book-src"
SITE = ROOT / "build" / "book"
JUPYTER_BOOK = ROOT / "build" / "venvs" / "book" / "bin" / "jupyter-book"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES_TO_CHECK = 3


class BookCheckFailed(RuntimeError):
    """A built page lacks a figure, a cross-link or the search box."""


def book_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    return tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]["book"]


def select_notebooks(prefixes: list[str] | None, folder: Path = ROOT / "notebooks") -> list[Path]:
    every = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not prefixes:
        return every
    chosen = [nb for nb in every if nb.name[:2] in prefixes]
    if len(chosen) != len(set(prefixes)):
        raise SystemExit(f"book: no notebook for some of {prefixes} in {folder}")
    return chosen


def toc_yaml(notebooks: list[Path], docs: list[str]) -> str:
    """Jupyter Book's _toc.yml: README as the home page, the notebooks, then the reference pages."""
    lines = ["# Written by tools/book.py", "format: jb-book", "root: README", "parts:",
             "  - caption: Notebooks", "    chapters:"]
    lines += [f"      - file: notebooks/{nb.stem}" for nb in notebooks]
    if docs:
        lines += ["  - caption: Reference", "    chapters:"]
        lines += [f"      - file: docs/{Path(doc).stem}" for doc in docs]
    return "\n".join(lines) + "\n"


def stage(notebooks: list[Path]) -> list[str]:
    """Lay out the book's source like the repository, so relative links keep working."""
    if SOURCE.exists():
        shutil.rmtree(SOURCE)
    (SOURCE / "notebooks").mkdir(parents=True)
    shutil.copy2(ROOT / "book" / "_config.yml", SOURCE / "_config.yml")
    shutil.copy2(ROOT / "README.md", SOURCE / "README.md")
    for nb in notebooks:
        shutil.copy2(nb, SOURCE / "notebooks" / nb.name)
    docs = []
    for doc in ("docs/glossary.md", "docs/references.md"):
        if (ROOT / doc).exists():
            (SOURCE / "docs").mkdir(exist_ok=True)
            shutil.copy2(ROOT / doc, SOURCE / doc)
            docs.append(doc)
        else:
            print(f"book: {doc} is not there yet; the book goes without it")
    (SOURCE / "_toc.yml").write_text(toc_yaml(notebooks, docs))
    return docs


def build() -> None:
    if not JUPYTER_BOOK.exists():
        raise SystemExit(f"book: {JUPYTER_BOOK} is missing; `make book` installs it")
    subprocess.run([str(JUPYTER_BOOK), "build", "--quiet", str(SOURCE)], check=True, timeout=900)
    if SITE.exists():
        shutil.rmtree(SITE)
    shutil.copytree(SOURCE / "_build" / "html", SITE)


def local_target(page: Path, href: str) -> Path | None:
    """The file a relative href on `page` points to, or None for external / in-page links."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return (page.parent / unquote(parts.path)).resolve()


def count_figures(notebook: Path) -> int:
    """How many images the executed notebook stores in its outputs."""
    cells = json.loads(notebook.read_text())["cells"]
    return sum(1 for cell in cells for output in cell.get("outputs", [])
               if any(k.startswith("image/") for k in output.get("data", {})))


def check_pages(pages: list[Path], notebook_pages: set[Path], stored_figures: dict[Path, int]) -> list[str]:
    """Open each page in headless Chromium; return one line per page that passed."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    passed = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page()
            for page in pages:
                tab.goto(page.as_uri(), wait_until="load", timeout=60_000)
                # Local images only: the Binder / Colab badges come from the internet.
                widths = tab.eval_on_selector_all(
                    "article img", "els => els.filter(e => e.src.startsWith('file:'))"
                                   ".map(e => e.complete ? e.naturalWidth : 0)")
                hrefs = tab.eval_on_selector_all("article a[href]", "els => els.map(e => e.getAttribute('href'))")
                others = {target for href in hrefs
                          if (target := local_target(page, href)) in notebook_pages and target != page}
                has_search = tab.locator("form.bd-search, .search-button-field, button.search-button").count() > 0
                name = page.relative_to(SITE)
                stored = stored_figures.get(page.resolve(), 0)
                if not widths or min(widths) == 0 or len(widths) < stored:
                    raise BookCheckFailed(f"{name}: {len(widths)} figures shown ({widths.count(0)} did not "
                                          f"load), the notebook stores {stored}")
                if not others:
                    raise BookCheckFailed(f"{name}: no link to another notebook's page")
                if not has_search:
                    raise BookCheckFailed(f"{name}: no search box")
                passed.append(f"{name}: {len(widths)} figures loaded, links to "
                              f"{', '.join(sorted(t.stem for t in others))}, search box")
        finally:
            browser.close()
    if not (SITE / "search.html").exists() or not (SITE / "searchindex.js").exists():
        raise BookCheckFailed("the site has no search page / index")
    return passed


def pages_to_check(notebooks: list[Path]) -> list[Path]:
    """First, middle and last notebook: spread over the collection."""
    picks = sorted({0, len(notebooks) // 2, len(notebooks) - 1})[:PAGES_TO_CHECK]
    return [SITE / "notebooks" / f"{notebooks[i].stem}.html" for i in picks]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", nargs="+", help="notebook numbers (default: all)")
    parser.add_argument("--no-check", action="store_true", help="build only")
    parser.add_argument("--requirements", action="store_true", help="print the [book] extra and exit")
    args = parser.parse_args(argv)
    if args.requirements:
        print(" ".join(book_requirements()))
        return 0
    notebooks = select_notebooks(args.notebooks)
    docs = stage(notebooks)
    build()
    built = [nb for nb in notebooks if (SITE / "notebooks" / f"{nb.stem}.html").exists()]
    if len(built) != len(notebooks):
        missing = sorted(set(nb.name for nb in notebooks) - set(nb.name for nb in built))
        raise SystemExit(f"book: no page for {missing}")
    print(f"book: {len(built)} notebook pages + README" + "".join(f" + {d}" for d in docs)
          + f" in {SITE.relative_to(ROOT)}/ (open index.html)")
    if args.no_check:
        return 0
    notebook_pages = {(SITE / "notebooks" / f"{nb.stem}.html").resolve() for nb in notebooks}
    stored = {(SITE / "notebooks" / f"{nb.stem}.html").resolve(): count_figures(nb) for nb in notebooks}
    for line in check_pages(pages_to_check(notebooks), notebook_pages, stored):
        print(f"book: browser check ok: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
