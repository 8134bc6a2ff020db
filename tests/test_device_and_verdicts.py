"""Device choice and step budget can be injected; verdicts read the same on every machine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import medseg_edu
from medseg_edu import expect, step_budget

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    monkeypatch.delenv("MEDSEG_EDU_DEVICE", raising=False)
    monkeypatch.delenv("MEDSEG_EDU_BUDGET", raising=False)


def test_device_can_be_forced_to_cpu(monkeypatch, capsys):
    monkeypatch.setenv("MEDSEG_EDU_DEVICE", "cpu")
    assert medseg_edu.device() == torch.device("cpu")
    assert capsys.readouterr().out.startswith("Using CPU with")


def test_device_auto_is_the_machine_choice(monkeypatch):
    monkeypatch.setenv("MEDSEG_EDU_DEVICE", "auto")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert medseg_edu.device(verbose=False).type == expected


def test_unknown_or_missing_device_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("MEDSEG_EDU_DEVICE", "tpu-please")
    with pytest.raises(ValueError, match="MEDSEG_EDU_DEVICE"):
        medseg_edu.device(verbose=False)
    if not torch.cuda.is_available():
        monkeypatch.setenv("MEDSEG_EDU_DEVICE", "cuda")
        with pytest.raises(RuntimeError, match="does not have"):
            medseg_edu.device(verbose=False)


def test_step_budget_follows_the_device_or_the_override(monkeypatch):
    assert step_budget(200, 500, on=torch.device("cpu")) == 200
    assert step_budget(200, 500, on=torch.device("cuda")) == 500
    monkeypatch.setenv("MEDSEG_EDU_BUDGET", "accelerator")
    assert step_budget(200, 500, on=torch.device("cpu")) == 500
    monkeypatch.setenv("MEDSEG_EDU_BUDGET", "cpu")
    assert step_budget(200, 500, on=torch.device("cuda")) == 200
    monkeypatch.setenv("MEDSEG_EDU_BUDGET", "lots")
    with pytest.raises(ValueError, match="MEDSEG_EDU_BUDGET"):
        step_budget(200, 500)


def test_expect_prints_bounds_not_the_value(capsys):
    assert expect("Dice", 0.9312, at_least=0.9)
    assert expect("shift", 11.2, at_least=4, at_most=20, unit="mm")
    assert expect("faster", np.bool_(True))
    assert capsys.readouterr().out.splitlines() == ["Dice >= 0.9: yes", "shift in [4, 20] mm: yes", "faster: yes"]


def test_expect_fails_visibly(capsys):
    assert not expect("Dice", 0.52, at_least=0.9)
    assert not expect("error", float("nan"), at_most=5, unit="%")
    assert not expect("skips win", False)
    assert capsys.readouterr().out.splitlines() == [
        "Dice >= 0.9: NO (measured 0.52)", "error <= 5 %: NO (measured nan %)", "skips win: NO (measured false)"]


def test_expect_rejects_meaningless_calls():
    with pytest.raises(ValueError):
        expect("Dice", 0.5)
    with pytest.raises(ValueError):
        expect("Dice", 0.5, at_least=0.9, at_most=0.1)
    with pytest.raises(TypeError):
        expect("flag", True, at_least=1)
    with pytest.raises(TypeError):
        expect("Dice", "high", at_least=0.5)


def _notebook_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_device_dependent_budgets_never_sit_in_a_checked_cell(path):
    """A budget that grows on a GPU must be chosen (and printed) in an unchecked cell."""
    for cell in _notebook_cells(path):
        source = "".join(cell["source"])
        checked = "nbval-check-output" in cell.get("metadata", {}).get("tags", [])
        if checked:
            assert "step_budget" not in source and not re.search(r"device\.type|\.is_available\(", source), source
        assert not re.search(r"if device\.type ==|if dev\.type ==", source), (
            f"{path.name}: choose budgets with medseg_edu.step_budget, so tests can take the GPU branch:\n{source}")


@pytest.mark.parametrize("seed", ["0", 1.5, -1, 2 ** 32, True])
def test_a_seed_that_is_not_a_whole_number_in_numpys_range_is_refused_by_name(seed):
    # NumPy said "Cannot cast scalar from dtype('<U1') to dtype('int64')" for "0"
    with pytest.raises(ValueError, match=r"seed must be a whole number from 0 to 2\*\*32 - 1"):
        medseg_edu.seed_everything(seed)
    medseg_edu.seed_everything(np.int64(7))   # a seed drawn with NumPy is a seed
