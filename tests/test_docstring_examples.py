"""The Examples sections of the public docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

# (medseg_edu.expect is also the name of the function the package exports, so import by name)
MODULES = [importlib.import_module(f"medseg_edu.{name}") for name in ("metrics", "volumetry", "agreement", "expect")]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module.__name__} has no examples"
    assert result.failed == 0
