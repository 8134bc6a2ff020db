"""Numbers in a notebook's prose are true: printed by its run, cited from a paper, or declared constants.

The habit (issue 24, item 1), in three kinds of number:

* **Measured** - a number a run produces is wrapped in an invisible tag in the
  markdown, ``<span class="out">0.84</span>``, and must appear in that notebook's
  stored outputs with the same rounding (``0.3`` matches a printed ``0.30`` or
  ``0.298``, not a printed ``0.2``; an explicit sign must match too).
* **Cited** - a number from a paper stands in a sentence that names the paper as the
  references do ("Montagne et al. 2021", "Eisenhauer et al., *Eur J Cancer* 2009":
  the first author and the year), and ``docs/references.md``'s entry for it holds that
  number.
* **Declared** - an input or a definition (a 3.6 mm slice, pi/6 = 0.52, the 95 % of
  limits of agreement) is listed in the notebook's metadata
  ``medseg_edu.prose_constants`` as ``{"3.6": "the phantom's slice spacing (mm), an input"}``;
  every entry needs a reason and must still occur in the prose.

The lint looks at decimals (``0.16``) and percentages (``12 %``) in markdown outside
code, links, LaTeX and version numbers ("RECIST 1.1", "CC-BY-SA 4.0"); an untagged one
that is neither cited nor declared fails. Integers without a unit are not linted - tag
them anyway when a run produced them. Tags are checked in every notebook; the full lint
only in migrated notebooks (see tests/teaching_migration.py).
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from teaching_migration import NOT_YET_MIGRATED, migrated

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
REFERENCES = ROOT / "docs" / "references.md"

OUT_TAG = re.compile(r"""<span\s+class\s*=\s*["']out["']\s*>\s*([^<]*?)\s*</span>""")
NUMBER = r"[-+−]?\d+(?:\.\d+)?"
PRINTED_NUMBER = re.compile(r"(?<![\w.])" + NUMBER + r"(?![\w])")
#: What the lint calls a result: a decimal, or a number with a percent sign.
RESULT_LIKE = re.compile(r"(?<![\w.])[-+−]?\d+\.\d+(?![\w.]*\w)|(?<![\w.])[-+−]?\d+(?:\.\d+)?(?=\s?%)")
#: Removed before linting: code, links, math, comments, versions.
NOT_PROSE = [re.compile(p, re.S) for p in (
    r"```.*?```", r"`[^`\n]*`", r"\$\$.*?\$\$", r"\$[^$\n]+\$", r"<!--.*?-->", r"\]\([^)]*\)", r"https?://\S+",
    r"\b(?:RECIST|PI-RADS|CC[- ]BY(?:-SA)?|v|version)\s?\d+(?:\.\d+)+")]
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z*(\"\[])|\n\s*\n|\n(?=\s*(?:[#*>-]|\d+\.)\s)")


def canonical(number: str) -> str:
    return number.replace("−", "-").strip()


def _decimals(number: str) -> int:
    return len(number.split(".")[1]) if "." in number else 0


def rounds_to(printed: str, tagged: str) -> bool:
    """True when ``printed`` (a number as a run printed it) is ``tagged`` at the tag's precision."""
    printed, tagged = canonical(printed), canonical(tagged)
    if _decimals(printed) < _decimals(tagged):
        return False
    if tagged[0] in "+-" and (printed[0] == "-") != (tagged[0] == "-"):
        return False
    value, target = abs(Decimal(printed)), abs(Decimal(tagged))
    step = Decimal(1).scaleb(-_decimals(tagged))
    return any(value.quantize(step, rounding=mode) == target for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN))


def stored_output_numbers(notebook) -> list[str]:
    """Every number in the text a notebook's run stored (printed lines and text results)."""
    numbers = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain") or ""
            numbers += PRINTED_NUMBER.findall("".join(text))
    return numbers


def reference_entries() -> dict[str, tuple[str, str, str]]:
    """heading -> (first author's name, year, entry text) for every ### entry of the references."""
    entries, heading, body = {}, None, []
    for line in REFERENCES.read_text(encoding="utf-8").splitlines() + ["### end"]:
        if line.startswith("### ") or line.startswith("## "):
            if heading:
                year = re.findall(r"\b(?:19|20)\d\d\b", heading)
                entries[heading] = (re.split(r"[\s,&]+", heading)[0], year[-1] if year else "", " ".join(body))
            heading, body = (line[4:].strip() if line.startswith("### ") else None), []
        elif heading:
            body.append(line)
    return entries


REFERENCE_ENTRIES = reference_entries()


def cited_by(sentence: str, number: str) -> str | None:
    """The reference a sentence names whose entry holds ``number``, if any."""
    for heading, (name, year, text) in REFERENCE_ENTRIES.items():
        if name in sentence and year and year in sentence:
            if any(canonical(n).lstrip("+-") == canonical(number).lstrip("+-")
                   for n in PRINTED_NUMBER.findall(text.replace("−", "-"))):
                return heading
    return None


def prose(markdown: str) -> str:
    """The readable text of a markdown cell: no code, links, math, comments or version numbers."""
    for pattern in NOT_PROSE:
        markdown = pattern.sub(" ", markdown)
    return re.sub(r"<[^>]+>", " ", markdown)


def check_notebook(path: Path):
    """(problems with tags, untagged result-like numbers that are neither cited nor declared, stale constants)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    printed = stored_output_numbers(notebook)
    constants = notebook.get("metadata", {}).get("medseg_edu", {}).get("prose_constants", {})
    tag_problems, untagged, seen_constants = [], [], set()
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        for tagged in OUT_TAG.findall(source):
            if not re.fullmatch(NUMBER, canonical(tagged)):
                tag_problems.append(f"cell {index}: tag holds {tagged!r}, not one number")
            elif not any(rounds_to(p, tagged) for p in printed):
                tag_problems.append(f"cell {index}: {tagged} is tagged as measured but no stored output prints it "
                                    "(re-run the notebook, fix the text, or print the number)")
        text = prose(OUT_TAG.sub(" ", source))
        for sentence in SENTENCE_END.split(text):
            for number in RESULT_LIKE.findall(sentence):
                key = next((k for k in (canonical(number), canonical(number).lstrip("+-")) if k in constants), None)
                if key is not None:     # a declared constant, with or without its sign
                    seen_constants.add(key)
                    continue
                if cited_by(sentence, number):
                    continue
                context = " ".join(sentence.split())[:110]
                untagged.append(f"cell {index}: {number} in «{context}»")
    problems_constants = [f"prose_constants[{k!r}] has no reason" for k, why in constants.items() if not str(why).strip()]
    problems_constants += [f"prose_constants[{k!r}] no longer occurs in the prose" for k in constants
                           if k not in seen_constants]
    return tag_problems, untagged, problems_constants


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_tagged_numbers_are_in_the_stored_outputs(path):
    tag_problems, _, _ = check_notebook(path)
    assert not tag_problems, f"{path.name}: " + "; ".join(tag_problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_result_in_the_prose_is_measured_cited_or_declared(path):
    _, untagged, stale = check_notebook(path)
    problems = untagged + stale
    if not migrated(path):
        if not problems:
            pytest.fail(f"{path.name} passes the prose lint: remove {path.name[:2]} from NOT_YET_MIGRATED "
                        "in tests/teaching_migration.py")
        pytest.xfail(f"not yet migrated (second wave): {len(problems)} number(s) to tag, cite or declare")
    assert not problems, (
        f"{path.name}: tag a measured number as <span class=\"out\">x</span>, name the paper whose entry in "
        "docs/references.md holds it, or declare it in the notebook metadata medseg_edu.prose_constants "
        "with a reason:\n  " + "\n  ".join(problems))


def test_rounding_rule():
    assert rounds_to("0.30", "0.3") and rounds_to("0.298", "0.3") and rounds_to("47.5", "48")
    assert not rounds_to("0.2", "0.20") and rounds_to("0.34", "0.3")
    assert not rounds_to("0.36", "0.3") and not rounds_to("-32", "+32") and rounds_to("-32", "32")
    assert rounds_to("+52.8", "+52.8") and not rounds_to("12.1", "12.12")


def test_the_lint_finds_an_untagged_result_and_accepts_the_three_kinds(tmp_path):
    notebook = {"metadata": {"medseg_edu": {"prose_constants": {"3.6": "the slice spacing (mm), an input"}}},
                "nbformat": 4, "nbformat_minor": 5, "cells": [
                    {"cell_type": "code", "metadata": {}, "source": "print(0.838)", "execution_count": 1,
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": "Dice 0.838\n"}]},
                    {"cell_type": "markdown", "metadata": {}, "source":
                     "Dice <span class=\"out\">0.84</span> on 3.6 mm slices. Readers agree at 0.92 "
                     "(Montagne et al., *Insights Imaging* 2021). It drops 0.16 `x = 0.5` $0.7^3$."}]}
    path = tmp_path / "99_example.ipynb"
    path.write_text(json.dumps(notebook))
    tags, untagged, stale = check_notebook(path)
    assert not tags and not stale
    assert len(untagged) == 1 and "0.16" in untagged[0]
    notebook["cells"][1]["source"] = "Dice <span class=\"out\">0.85</span>."
    path.write_text(json.dumps(notebook))
    tags, _, stale = check_notebook(path)
    assert tags and "0.85" in tags[0] and stale


def test_not_yet_migrated_is_a_list_of_notebook_numbers():
    assert all(re.fullmatch(r"\d\d", number) for number in NOT_YET_MIGRATED)
