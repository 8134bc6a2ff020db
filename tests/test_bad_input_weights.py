"""Damaged weights and sidecars (issue 21, kind 4).

An empty or cut ``.pt``, a Git LFS pointer in place of a file, a cut or
empty ``.json`` sidecar: ``weights.load`` and ``weights.metadata`` raise
:class:`medseg_edu.weights.WeightsFileError` naming the file and the ways to
get a good copy, and never pass on torch's advice to use ``weights_only=False``.
"""

from __future__ import annotations

import shutil
import traceback
from pathlib import Path

import pytest

from medseg_edu import weights
from medseg_edu.weights import WeightsFileError

BUNDLED = Path(weights.__file__).resolve().parents[1] / "data" / "weights"
POINTER = ("version https://git-lfs.github.com/spec/v1\n"
           "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 1957545\n")


def _cut(fraction):
    return lambda data: data[: int(len(data) * fraction)]


DAMAGE = {  # (which file, how its bytes change, what the message says)
    "empty .pt": ("pt", lambda data: b"", "is empty"),
    ".pt cut at 1/3": ("pt", _cut(1 / 3), "is cut short"),
    ".pt cut 100 bytes short": ("pt", lambda data: data[:-100], "is cut short"),
    ".pt cut to its first 30 bytes": ("pt", lambda data: data[:30], "is cut short"),
    ".pt with flipped bytes": ("pt", lambda data: data[:1000] + bytes(b ^ 0xFF for b in data[1000:1064])
                               + data[1064:], "fails its checksum"),
    "Git LFS pointer .pt": ("pt", lambda data: POINTER.encode(), "is a Git LFS pointer"),
    "a text file as .pt": ("pt", lambda data: b"not weights at all\n" * 20, "cannot be read as PyTorch weights"),
    "empty .json": ("json", lambda data: b"", "is empty"),
    ".json cut in half": ("json", _cut(0.5), "is not valid JSON"),
    ".json cut one byte short": ("json", lambda data: data[:-2], "is not valid JSON"),
    "Git LFS pointer .json": ("json", lambda data: POINTER.encode(), "is a Git LFS pointer"),
    "binary .json": ("json", lambda data: bytes(range(256)), "is not valid JSON"),
    "a JSON list as sidecar": ("json", lambda data: b"[1, 2, 3]", "not the sidecar's object"),
}


def _damaged_folder(tmp_path, name, which, change):
    folder = tmp_path / "weights"
    folder.mkdir()
    for suffix in ("pt", "json"):
        shutil.copy(BUNDLED / f"{name}.{suffix}", folder / f"{name}.{suffix}")
    target = folder / f"{name}.{which}"
    target.write_bytes(change(target.read_bytes()))
    return folder, target


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_file_is_named_with_its_fix(damage, tmp_path, monkeypatch):
    which, change, problem = DAMAGE[damage]
    folder, target = _damaged_folder(tmp_path, "unet", which, change)
    monkeypatch.setenv("MEDSEG_EDU_WEIGHTS", str(folder))
    with pytest.raises(WeightsFileError) as info:
        weights.load("unet")
    message = str(info.value)
    assert str(target) in message and problem in message, message
    assert all(fix in message for fix in ("git lfs pull", "make pretrained", "MEDSEG_EDU_WEIGHTS")), message
    shown = "".join(traceback.format_exception(info.value))
    assert "weights_only" not in shown, shown    # torch's unsafe advice never reaches the learner
    if which == "json":
        with pytest.raises(WeightsFileError, match="not valid JSON|is empty|LFS pointer|object"):
            weights.metadata("unet")


@pytest.mark.parametrize("name", weights.NAMES)
def test_every_network_and_version_checks_its_files(name, tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    (folder / weights.V1).mkdir(parents=True)
    for sub in (folder, folder / weights.V1):
        source = BUNDLED if sub == folder else BUNDLED / weights.V1
        shutil.copy(source / f"{name}.json", sub / f"{name}.json")
        (sub / f"{name}.pt").write_text(POINTER)
    monkeypatch.setenv("MEDSEG_EDU_WEIGHTS", str(folder))
    for version in (1, 2):
        with pytest.raises(WeightsFileError, match=f"{name}.pt is a Git LFS pointer"):
            weights.load(name, version=version)


def test_intact_files_still_load_and_errors_stay_value_errors(monkeypatch):
    monkeypatch.delenv("MEDSEG_EDU_WEIGHTS", raising=False)
    assert weights.load("fcn").training is False
    assert issubclass(WeightsFileError, ValueError)
