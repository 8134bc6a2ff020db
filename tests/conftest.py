"""Shared fixtures: Task05-shaped MSD folders and archives, a fake download server, no network.

Nothing here opens a network connection: ``msd_server`` serves archives from a
local folder through ``file://`` URLs and refuses every other URL, and
``offline`` makes every download fail as it does without a connection.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

TASK_DIR = "Task05_Prostate"
#: What a machine without a connection answers (socket.EAI_AGAIN).
NAME_RESOLUTION_FAILURE = "Temporary failure in name resolution"


def _save(array, affine, path):
    nib.save(nib.Nifti1Image(np.asarray(array), np.asarray(affine, float)), str(path))


def _image_array(t2, adc):
    t2 = np.asarray(t2, np.float32)
    return t2 if adc is None else np.stack([t2, np.asarray(adc, np.float32)], axis=-1)


def _write_task05(base, training, test=None, *, with_json=True, junk=True):
    """Write ``base/Task05_Prostate`` the way the MSD archive lays it out; return that folder.

    Parameters
    ----------
    training : dict of name -> (t2, adc, labels, affine)
        ``imagesTr/<name>.nii.gz`` (4D T2+ADC; 3D T2 if ``adc`` is None) and
        ``labelsTr/<name>.nii.gz`` (uint8). ``dataset.json`` lists them in
        this order.
    test : dict of name -> (t2, adc, affine), optional
        ``imagesTs/<name>.nii.gz``, no labels.
    with_json : bool
        Write ``dataset.json`` (keys and values as in the real one).
    junk : bool
        Add a macOS ``._<name>.nii.gz`` resource file next to every image, as
        the real archive has.
    """
    root = Path(base) / TASK_DIR
    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    test = test or {}
    for name, (t2, adc, labels, affine) in training.items():
        _save(_image_array(t2, adc), affine, root / "imagesTr" / f"{name}.nii.gz")
        _save(np.asarray(labels).astype(np.uint8), affine, root / "labelsTr" / f"{name}.nii.gz")
    for name, (t2, adc, affine) in test.items():
        _save(_image_array(t2, adc), affine, root / "imagesTs" / f"{name}.nii.gz")
    if junk:
        for sub, names in (("imagesTr", training), ("imagesTs", test)):
            for name in names:
                (root / sub / f"._{name}.nii.gz").write_bytes(b"\x00\x05\x16\x07junk")
    if with_json:
        meta = {
            "name": "PROSTATE",
            "description": "Prostate transitional zone and peripheral zone segmentation",
            "reference": "Radboud University, Nijmegen Medical Centre",
            "licence": "CC-BY-SA 4.0",
            "release": "1.0 04/05/2018",
            "tensorImageSize": "4D",
            "modality": {"0": "T2", "1": "ADC"},
            "labels": {"0": "background", "1": "PZ", "2": "TZ"},
            "numTraining": len(training),
            "numTest": len(test),
            "training": [{"image": f"./imagesTr/{n}.nii.gz", "label": f"./labelsTr/{n}.nii.gz"}
                         for n in training],
            "test": [f"./imagesTs/{n}.nii.gz" for n in test],
        }
        (root / "dataset.json").write_text(json.dumps(meta, indent=4))
    return root


@pytest.fixture(scope="session")
def first_held_out_case():
    """The first case of ``methods.held_out`` (seed 70000), rendered once for every test that re-scores it."""
    from medseg_edu.data.gland_shapes import HELD_OUT_SHAPES
    from medseg_edu.methods import held_out

    return held_out.held_out_cases(shapes=HELD_OUT_SHAPES[:1])[0]


@pytest.fixture(scope="session")
def write_task05():
    """The function that writes a Task05-shaped folder (see ``_write_task05``)."""
    return _write_task05


def _tar_bytes(add) -> bytes:
    """An uncompressed tar archive in memory; ``add(tar)`` puts the members in."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        add(tar)
    return buf.getvalue()


class FakeMsdServer:
    """Archives published in a local folder, downloadable through ``file://`` URLs.

    ``requests`` lists every URL that ``urllib.request.urlopen`` was asked for
    while the fixture is active, so a test can tell whether a download happened.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.requests: list[str] = []

    def publish(self, content, name: str = f"{TASK_DIR}.tar") -> tuple[str, str]:
        """Put an archive on the server; return its ``(url, md5)``.

        ``content`` is the archive's bytes, or a ``Task05_Prostate`` folder to
        tar (as the top-level folder of the archive, like the real one).
        """
        if not isinstance(content, (bytes, bytearray)):
            folder = Path(content)
            content = _tar_bytes(lambda tar: tar.add(folder, arcname=TASK_DIR))
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        path.write_bytes(content)
        return path.as_uri(), hashlib.md5(content).hexdigest()


@pytest.fixture
def msd_server(tmp_path, monkeypatch):
    """A :class:`FakeMsdServer`; ``urlopen`` records each URL and opens only ``file://`` ones."""
    server = FakeMsdServer(tmp_path / "server")
    real_urlopen = urllib.request.urlopen

    def urlopen(url, *args, **kwargs):
        text = getattr(url, "full_url", url)
        server.requests.append(text)
        if not str(text).startswith("file:"):
            raise urllib.error.URLError(OSError(-3, f"{NAME_RESOLUTION_FAILURE} (tests never use the network)"))
        return real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return server


@pytest.fixture
def offline(monkeypatch):
    """No connection: every ``urlopen`` fails at name resolution. Returns the URLs tried."""
    attempts: list[str] = []

    def urlopen(url, *args, **kwargs):
        attempts.append(getattr(url, "full_url", url))
        raise urllib.error.URLError(OSError(-3, NAME_RESOLUTION_FAILURE))

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return attempts


# --------------------------------------------------------------------------
# slow tests
# --------------------------------------------------------------------------
#: Tests that take more than about 5 s on 2 quiet cores (pytest --durations), marked ``slow``
#: here so that their files stay untouched. New slow tests use ``@pytest.mark.slow`` directly.
#: CI runs them all the same; ``pytest -m "not slow"`` leaves them out of a quick local run.
SLOW_TESTS = frozenset({
    "tests/data/test_cache.py::test_split_slices_rebuilds_a_truncated_file",
    "tests/test_weights.py::test_training_writes_the_weights_and_the_sidecar_once",
    "tests/methods/test_deep_methods.py::test_patch_cnn_segments_a_thin_slab",
    "tests/methods/test_method_atlas.py::test_defaults_on_a_test_case",
    "tests/methods/test_methods_contract.py::test_segment_does_not_modify_its_input[atlas]",
    "tests/methods/test_methods_contract.py::test_segment_does_not_modify_its_input[patch_cnn]",
    "tests/data/test_phantom.py::test_default_volumes_follow_msd_range",
    "tests/data/test_phantom.py::test_ellipsoid_formula_errs_like_on_real_glands",
    "tests/methods/test_method_snake.py::test_never_empty_on_the_hardest_test_phantoms[11]",
})


def pytest_collection_modifyitems(config, items):
    """Mark the tests of SLOW_TESTS ``slow`` and start every slow test first.

    Slow tests first: on pytest-xdist workers (make unit) a long test then overlaps with many
    short ones instead of running alone at the end.
    """
    for item in items:
        if item.nodeid in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: order kept otherwise
