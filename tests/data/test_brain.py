"""Bundled MNI brain, simulated atrophy and rescans (medseg_edu.data.brain)."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from medseg_edu.data import brain as brain_mod
from medseg_edu.data.brain import Brain, brain_scan, mni_brain, mni_data_dir, simulate_atrophy


@pytest.fixture(scope="module")
def brain():
    return mni_brain()


def test_bundled_files_exist_and_are_small():
    folder = mni_data_dir()
    sizes = [(folder / name).stat().st_size for name in brain_mod.MNI_FILES.values()]
    assert sum(sizes) < 3 * 1024 * 1024


def test_mni_brain_loads_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("mni_brain must not touch the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    b = mni_brain()
    assert isinstance(b, Brain)
    assert b.shape == (99, 117, 95)
    assert b.spacing == (2.0, 2.0, 2.0)
    assert np.allclose(np.diag(b.affine)[:3], 2.0)
    for vol in (b.t1, b.gm, b.wm):
        assert vol.array.dtype == np.float32 and vol.shape == b.shape
    assert 0 <= b.gm.array.min() and b.gm.array.max() <= 1
    assert (b.tissue <= 1 + 1e-6).all()
    assert b.t1.array.max() > 150  # native 0-255 template units
    # plausible (template-sized) brain: tissue well inside the intracranial volume
    assert 1200 < b.brain_volume_ml < 2000
    assert b.brain_volume_ml < b.icv_ml
    assert b.brain_mask.dtype == bool


def test_origin_is_mni(brain):
    # MNI (0, 0, 0) lies inside the brain, near the middle of the grid
    ijk = np.linalg.solve(brain.affine, [0, 0, 0, 1])[:3]
    assert all(0 < c < n for c, n in zip(ijk, brain.shape))
    i, j, k = np.round(ijk).astype(int)
    assert brain.icv[i, j, k]


def test_returns_fresh_copies(brain):
    b1 = mni_brain()
    b1.gm.array[:] = 0
    assert mni_brain().gm.array.max() > 0.9


def test_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDSEG_EDU_DATA", str(tmp_path))
    assert mni_data_dir().name == "mni" and mni_data_dir().parent != tmp_path  # no mni/ there: the bundled one
    (tmp_path / "mni").mkdir()
    assert mni_data_dir() == tmp_path / "mni"
    with pytest.raises(FileNotFoundError, match="MEDSEG_EDU_DATA"):
        mni_brain()


@pytest.mark.parametrize("rate, years", [(0.45, 2), (1.0, 5), (1.84, 10)])
def test_atrophy_hits_requested_percent(brain, rate, years):
    t0 = time.perf_counter()
    after = simulate_atrophy(brain, rate, years, seed=1)
    elapsed = time.perf_counter() - t0
    loss = 100 * (1 - after.brain_volume_ml / brain.brain_volume_ml)
    assert loss == pytest.approx(rate * years, abs=0.1)
    assert after.meta["achieved_percent"] == pytest.approx(loss, abs=1e-6)
    # the skull stays, CSF fills the space
    assert np.array_equal(after.icv, brain.icv)
    assert after.csf.sum() > brain.csf.sum()
    assert after.shape == brain.shape and after.spacing == brain.spacing
    # the input is untouched
    assert brain.meta.get("achieved_percent") is None
    assert elapsed < 5  # ~0.5 s on a laptop; generous for busy CI


def test_atrophy_zero_and_invalid(brain):
    same = simulate_atrophy(brain, 1.0, 0)
    assert same.brain_volume_ml == pytest.approx(brain.brain_volume_ml, rel=1e-6)
    with pytest.raises(ValueError):
        simulate_atrophy(brain, -1, 2)
    with pytest.raises(ValueError):
        simulate_atrophy(brain, 50, 10)


def test_atrophy_seed_changes_pattern_not_total(brain):
    a = simulate_atrophy(brain, 1, 3, seed=0)
    b = simulate_atrophy(brain, 1, 3, seed=5)
    assert not np.allclose(a.gm.array, b.gm.array)
    assert a.brain_volume_ml == pytest.approx(b.brain_volume_ml, rel=2e-4)


def test_scans_deterministic_per_seed_and_differ_by_seed(brain):
    t0 = time.perf_counter()
    s1 = brain_scan(brain, seed=1)
    assert time.perf_counter() - t0 < 3
    s2 = brain_scan(brain, seed=1)
    s3 = brain_scan(brain, seed=2)
    assert s1.array.dtype == np.float32 and s1.shape == brain.shape
    assert s1.spacing == brain.spacing
    assert np.array_equal(s1.array, s2.array)
    assert not np.array_equal(s1.array, s3.array)


def test_scan_contrast_and_noise(brain):
    clean = brain_scan(brain, seed=0, noise=0.0, bias=0.0)
    wm = brain.wm.array > 0.95
    gm = brain.gm.array > 0.95
    assert clean.array[wm].mean() > clean.array[gm].mean() + 30  # T1: WM brighter than GM
    noisy = brain_scan(brain, seed=0, noise=0.05, bias=0.0)
    sd = (noisy.array[wm] - clean.array[wm]).std()
    assert sd == pytest.approx(0.05 * brain_mod.TISSUE_T1["wm"], rel=0.2)


def test_atrophy_visible_above_rescan_noise(brain):
    """A 5 % loss must stand out from scan-to-scan noise of a simple threshold."""
    after = simulate_atrophy(brain, 1, 5)

    def measured(b, seed):
        return np.count_nonzero(brain_scan(b, seed).array > 101) * b.voxel_ml

    base = [measured(brain, s) for s in (0, 1)]
    follow = measured(after, 2)
    assert abs(base[0] - base[1]) / base[0] < 0.01
    assert 0.03 < 1 - follow / np.mean(base) < 0.07
