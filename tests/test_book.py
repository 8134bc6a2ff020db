"""The pure parts of `make book` (tools/book.py): no build, no browser.

`make book-smoke` / `make book` build the site and check it in Chromium.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def book():
    spec = importlib.util.spec_from_file_location("book_tool", ROOT / "tools" / "book.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_toc_lists_readme_notebooks_and_reference_pages(book):
    notebooks = [Path("notebooks/00_start_here.ipynb"), Path("notebooks/06_unet.ipynb")]
    toc = yaml.safe_load(book.toc_yaml(notebooks, ["docs/glossary.md", "docs/references.md"]))
    assert toc["format"] == "jb-book" and toc["root"] == "README"
    assert [c["file"] for c in toc["parts"][0]["chapters"]] == ["notebooks/00_start_here", "notebooks/06_unet"]
    assert [c["file"] for c in toc["parts"][1]["chapters"]] == ["docs/glossary", "docs/references"]


def test_toc_without_reference_pages(book):
    toc = yaml.safe_load(book.toc_yaml([Path("notebooks/00_start_here.ipynb")], []))
    assert len(toc["parts"]) == 1


def test_local_link_targets(book, tmp_path):
    page = tmp_path / "notebooks" / "00_start_here.html"
    assert book.local_target(page, "01_thresholding.html") == (tmp_path / "notebooks" / "01_thresholding.html").resolve()
    assert book.local_target(page, "../docs/glossary.html#dice") == (tmp_path / "docs" / "glossary.html").resolve()
    assert book.local_target(page, "https://example.org/x.html") is None
    assert book.local_target(page, "#key-takeaways") is None


def test_pages_to_check_spread_over_the_collection(book):
    notebooks = [Path(f"{i:02d}_x.ipynb") for i in range(11)]
    assert [p.name for p in book.pages_to_check(notebooks)] == ["00_x.html", "05_x.html", "10_x.html"]
    assert [p.name for p in book.pages_to_check(notebooks[:2])] == ["00_x.html", "01_x.html"]


def test_count_figures(book, tmp_path):
    notebook = tmp_path / "00_x.ipynb"
    notebook.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "source": "text"},
        {"cell_type": "code", "outputs": [{"data": {"image/png": "...", "text/plain": "<Figure>"}},
                                          {"text": "printed"}]},
        {"cell_type": "code", "outputs": [{"data": {"text/plain": "3"}}]},
    ]}))
    assert book.count_figures(notebook) == 1


def test_select_notebooks(book):
    chosen = book.select_notebooks(["00", "01"])
    assert [nb.name[:2] for nb in chosen] == ["00", "01"]
    with pytest.raises(SystemExit):
        book.select_notebooks(["99"])


def test_book_extra_is_pinned(book):
    requirements = book.book_requirements()
    assert any(r.startswith("jupyter-book") and "<2" in r for r in requirements)
    assert "jupyter-book==" in (ROOT / "constraints.txt").read_text()


def test_config_does_not_execute_notebooks():
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
