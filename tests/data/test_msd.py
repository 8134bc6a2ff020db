"""MSD Task05 fetcher and loader (medseg_edu.data.msd) - nothing downloads."""

from __future__ import annotations

import io
import tarfile
import time
import urllib.request

import nibabel as nib
import numpy as np
import pytest

from medseg_edu.data import msd
from medseg_edu.data.case import Case
from medseg_edu.data.msd import (
    MSD_PROSTATE_MD5,
    MSD_PROSTATE_URL,
    ChecksumError,
    DatasetUnavailableError,
    UnsafeArchiveError,
    fetch_msd_prostate,
    load_msd_label,
    load_msd_prostate,
    safe_extract_tar,
)

SHAPE = (12, 10, 4)
SPACING = (0.625, 0.625, 3.6)


def _affine(spacing=SPACING):
    return np.diag(list(spacing) + [1.0])


def _random_image(seed, shape=SHAPE):
    rng = np.random.default_rng(seed)
    return rng.random(shape).astype(np.float32) * 500, rng.random(shape).astype(np.float32) * 2000


def _write_label(path, labels, dtype=np.uint8):
    nib.save(nib.Nifti1Image(labels.astype(dtype), _affine()), str(path))


def _labels(with_tz=True):
    lab = np.zeros(SHAPE, np.uint8)
    lab[3:9, 3:7, 1:3] = 1
    if with_tz:
        lab[5:7, 4:6, 1:3] = 2
    return lab


@pytest.fixture
def make_task05(write_task05):
    """``make(base, with_json=True) -> (root, truth)``: a tiny Task05-shaped folder.

    3 training cases (prostate_18 PZ-only; dataset.json lists them out of
    name order), 1 test case, macOS junk files; written by the shared
    ``write_task05`` fixture (tests/conftest.py).
    """
    def make(base, with_json=True):
        truth = {}
        for seed, (name, tz) in enumerate((("prostate_18", False), ("prostate_00", True), ("prostate_02", True))):
            t2, adc = _random_image(seed)
            truth[name] = (t2, adc, _labels(tz))
        training = {name: (t2, adc, lab, _affine()) for name, (t2, adc, lab) in truth.items()}
        t2, adc = _random_image(99)
        root = write_task05(base, training, {"prostate_08": (t2, adc, _affine())}, with_json=with_json)
        return root, truth

    return make


def test_constants_match_facts():
    assert MSD_PROSTATE_URL == "https://msd-for-monai.s3-us-west-2.amazonaws.com/Task05_Prostate.tar"
    assert MSD_PROSTATE_MD5 == "35138f08b1efaef89d7424d2bcc928db"


@pytest.mark.parametrize("with_json", [True, False])
def test_load_train_cases(tmp_path, with_json, make_task05):
    root, truth = make_task05(tmp_path, with_json)
    cases = load_msd_prostate(root)
    assert [c.name for c in cases] == ["prostate_00", "prostate_02", "prostate_18"]
    for c in cases:
        t2, adc, lab = truth[c.name]
        assert isinstance(c, Case)
        assert c.image.dtype == np.float32 and c.image.shape == SHAPE
        assert np.allclose(c.image, t2) and np.allclose(c.adc, adc)
        assert c.labels.dtype == np.uint8 and np.array_equal(c.labels, lab)
        assert c.spacing == pytest.approx(SPACING)
        assert c.meta["has_labels"] is True
    pz_only = cases[2]
    assert set(np.unique(pz_only.labels)) == {0, 1}
    assert pz_only.meta["zones_present"] == [1]
    assert pz_only.gland_volume_ml > 0


def test_load_parent_folder_and_case_selection(tmp_path, make_task05):
    make_task05(tmp_path)
    by_name = load_msd_prostate(tmp_path, cases=["prostate_18"])
    assert [c.name for c in by_name] == ["prostate_18"]
    by_index = load_msd_prostate(tmp_path, cases=range(2), adc=False)
    assert [c.name for c in by_index] == ["prostate_00", "prostate_02"]
    assert by_index[0].adc is None
    with pytest.raises(KeyError, match="prostate_99"):
        load_msd_prostate(tmp_path, cases="prostate_99")


def test_load_test_split(tmp_path, make_task05):
    root, _ = make_task05(tmp_path)
    (c,) = load_msd_prostate(root, split="test")
    assert c.name == "prostate_08"
    assert c.meta["has_labels"] is False
    assert c.labels.dtype == np.uint8 and not c.labels.any() and c.labels.shape == c.image.shape
    with pytest.raises(ValueError):
        load_msd_prostate(root, split="validation")


def test_bad_label_values_named(tmp_path, make_task05):
    root, _ = make_task05(tmp_path)
    bad = _labels()
    bad[0, 0, 0] = 7
    _write_label(root / "labelsTr" / "prostate_02.nii.gz", bad)
    with pytest.raises(ValueError, match=r"prostate_02\.nii\.gz.*\[7\]"):
        load_msd_prostate(root)


def test_float_labels_accepted(tmp_path):
    path = tmp_path / "lab.nii.gz"
    _write_label(path, _labels(), dtype=np.float32)
    labels, spacing = load_msd_label(path)
    assert labels.dtype == np.uint8 and np.array_equal(labels, _labels())
    assert spacing == pytest.approx(SPACING)


def test_shape_mismatch_names_both_files(tmp_path, make_task05):
    root, _ = make_task05(tmp_path)
    _write_label(root / "labelsTr" / "prostate_00.nii.gz", np.zeros((12, 10, 5), np.uint8))
    with pytest.raises(ValueError, match=r"imagesTr.prostate_00.*\(12, 10, 4\).*labelsTr.prostate_00.*\(12, 10, 5\)"):
        load_msd_prostate(root, cases=["prostate_00"])


# --------------------------------------------------------------------------- archives


def _tar_bytes(add):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        add(tar)
    return buf.getvalue()


def _add_file(tar, name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("evil", ["../evil", "/tmp/medseg_edu_abs_evil", "Task05_Prostate/../../evil"])
def test_unsafe_member_refused(tmp_path, evil):
    archive = tmp_path / "evil.tar"
    archive.write_bytes(_tar_bytes(lambda t: (_add_file(t, "Task05_Prostate/ok.txt"), _add_file(t, evil))))
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match="evil"):
        safe_extract_tar(archive, dest)
    assert not (tmp_path / "evil").exists()
    assert not list(dest.rglob("*.txt"))  # checked before anything was written


def test_links_and_devices_refused(tmp_path):
    def sym(tar):
        info = tarfile.TarInfo("Task05_Prostate/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../etc/passwd"
        tar.addfile(info)

    def dev(tar):
        info = tarfile.TarInfo("Task05_Prostate/dev")
        info.type = tarfile.CHRTYPE
        tar.addfile(info)

    for maker, word in ((sym, "link"), (dev, "dev")):
        archive = tmp_path / f"{word}.tar"
        archive.write_bytes(_tar_bytes(maker))
        with pytest.raises(UnsafeArchiveError, match=f"Task05_Prostate/{word}"):
            safe_extract_tar(archive, tmp_path / f"out_{word}")


def test_fetch_refuses_evil_archive(tmp_path, msd_server):
    url, md5 = msd_server.publish(_tar_bytes(lambda t: _add_file(t, "../evil")), "evil.tar")
    cache = tmp_path / "cache"
    with pytest.raises(UnsafeArchiveError):
        fetch_msd_prostate(cache, url=url, md5=md5)
    assert not (tmp_path / "evil").exists() and not (cache.parent / "evil").exists()
    assert not (cache / "Task05_Prostate").exists()


def test_fake_download_extracts(tmp_path, make_task05, msd_server):
    url, md5 = msd_server.publish(make_task05(tmp_path / "src")[0])
    cache = tmp_path / "cache"
    root = fetch_msd_prostate(cache, url=url, md5=md5)
    assert root == cache / "Task05_Prostate"
    assert (root / "dataset.json").exists()
    assert not (root / "imagesTr" / "._prostate_00.nii.gz").exists()  # macOS junk skipped
    assert not list(cache.glob("*.part")) and not list(cache.glob(".Task05*"))
    assert len(load_msd_prostate(root)) == 3
    # second call returns at once, without touching the URL
    assert fetch_msd_prostate(cache, url="http://invalid.invalid/x.tar", md5="0") == root


def test_md5_mismatch_leaves_no_tar(tmp_path, make_task05, msd_server):
    url, _ = msd_server.publish(make_task05(tmp_path / "src")[0], "src.tar")
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError, match="md5"):
        fetch_msd_prostate(cache, url=url, md5="0" * 32)
    assert not (cache / "Task05_Prostate.tar").exists()
    assert not (cache / "Task05_Prostate.tar.part").exists()
    assert not (cache / "Task05_Prostate").exists()
    assert issubclass(ChecksumError, DatasetUnavailableError)


def test_offline_fails_fast_and_mentions_phantoms(tmp_path, offline):
    t0 = time.perf_counter()
    with pytest.raises(DatasetUnavailableError) as info:
        fetch_msd_prostate(tmp_path / "cache")
    assert time.perf_counter() - t0 < 2
    message = str(info.value)
    assert "download" in message and "failed" in message
    assert "name resolution" in message
    assert "prostate_phantom" in message and "offline" in message
    assert isinstance(info.value, RuntimeError)
    assert not list((tmp_path / "cache").glob("Task05_Prostate.tar*"))


def test_timeout_is_unavailable(tmp_path, monkeypatch):
    def slow(*args, **kwargs):
        raise TimeoutError("timed out")

    monkeypatch.setattr(urllib.request, "urlopen", slow)
    with pytest.raises(DatasetUnavailableError, match="timed out"):
        fetch_msd_prostate(tmp_path / "cache", timeout=1)


def test_default_cache_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDSEG_EDU_CACHE", str(tmp_path))
    root = tmp_path / "Task05_Prostate"
    root.mkdir()
    (root / "dataset.json").write_text("{}")
    assert fetch_msd_prostate() == root
    assert msd.default_cache_dir() == tmp_path


def test_label_on_a_shifted_grid_is_refused_with_the_distance(tmp_path, make_task05):
    root = tmp_path / "shifted" / "Task05_Prostate"
    make_task05(tmp_path / "shifted")
    shifted = _affine()
    shifted[0, 3] = 2.5                                  # same shape, 2.5 mm to the side
    nib.save(nib.Nifti1Image(_labels().astype(np.uint8), shifted), str(root / "labelsTr" / "prostate_02.nii.gz"))
    with pytest.raises(ValueError, match=r"Geometry mismatch.*prostate_02.*2\.50 mm"):
        load_msd_prostate(root, "train", cases=["prostate_02"])
    assert len(load_msd_prostate(root, "train", cases=["prostate_00"])) == 1   # the others still load


def test_label_affine_equal_up_to_rounding_is_accepted(tmp_path, make_task05):
    make_task05(tmp_path)
    root = tmp_path / "Task05_Prostate"
    nearly = _affine()
    nearly[:3, 3] += 1e-4                                # float noise of a converter, far below a voxel
    nib.save(nib.Nifti1Image(_labels().astype(np.uint8), nearly), str(root / "labelsTr" / "prostate_00.nii.gz"))
    (case,) = load_msd_prostate(root, "train", cases=["prostate_00"])
    assert np.array_equal(case.labels, _labels())
