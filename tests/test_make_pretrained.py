"""tools/make_pretrained.py: a run with --out into a new folder can evaluate what it trained."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import make_pretrained  # noqa: E402
from medseg_edu import weights  # noqa: E402


def test_the_version_1_weights_are_set_beside_a_new_out_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDSEG_EDU_WEIGHTS", raising=False)
    source = weights.weights_dir()
    copied = make_pretrained.reference_weights_beside(tmp_path, source)
    assert copied == tmp_path / weights.V1
    monkeypatch.setenv("MEDSEG_EDU_WEIGHTS", str(tmp_path))  # as main() does before the evaluation
    for name in ("unet", "fcn", "dilated", "patch_cnn"):
        assert weights.metadata(name, version=1) == weights.metadata(name, folder=source / weights.V1)
        weights.load(name, version=1)
    assert make_pretrained.reference_weights_beside(tmp_path, source) is None  # already there: left alone


def test_the_bundled_folder_is_left_as_it_is(monkeypatch):
    monkeypatch.delenv("MEDSEG_EDU_WEIGHTS", raising=False)
    bundled = weights.weights_dir()
    assert make_pretrained.reference_weights_beside(bundled, bundled) is None
