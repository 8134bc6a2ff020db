"""The Examples sections of the public docstrings run and print what they claim.

Every module of the package whose source holds a ``>>>`` example is found and
run, so a new Examples section is tested the day it is written.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "medseg_edu"


def modules_with_examples() -> list[str]:
    names = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if ">>>" in path.read_text(encoding="utf-8"):
            parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_examples_are_found():
    found = modules_with_examples()
    assert {"medseg_edu.metrics", "medseg_edu.volumetry", "medseg_edu.recist", "medseg_edu.agreement",
            "medseg_edu.expect"} <= set(found)


@pytest.mark.parametrize("name", modules_with_examples())
def test_docstring_examples(name):
    # importlib, not attribute access: medseg_edu.expect is also the name of a function
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
