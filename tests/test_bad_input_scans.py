"""Blank scans and spacings that cannot be millimetres (issue 21, kind 3).

Every method of ``methods.METHODS`` refuses a blank image with the same named
error (:class:`medseg_edu.BlankImageError`), and every public function that
takes a spacing refuses one typed in metres or micrometres with
:class:`medseg_edu.SpacingUnitError`, before it allocates anything from it.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import medseg_edu
from medseg_edu import io, methods, metrics, volumetry
from medseg_edu._checks import PLAUSIBLE_SPACING_MM, BlankImageError, SpacingUnitError, as_scan, as_spacing
from medseg_edu.data import prostate_phantom

SPACING = (0.625, 0.625, 3.6)
METRES = (0.000625, 0.000625, 0.0036)
MICROMETRES = (625.0, 625.0, 3600.0)


def _blank_images():
    """Inputs with nothing to segment, each (name, image)."""
    rng = np.random.default_rng(21)
    shape = (48, 48, 3)
    specks = np.zeros(shape, np.float32)
    specks[rng.integers(0, 48, 5), rng.integers(0, 48, 5), 1] = 900.0   # a few bright voxels in nothing
    return {
        "zeros": np.zeros(shape, np.float32),
        "constant 7.5": np.full(shape, 7.5, np.float32),
        "constant int16": np.full(shape, 312, np.int16),
        "constant plus rounding noise": (500.0 + rng.normal(0.0, 1e-3, shape)).astype(np.float32),
        "0.2 % contrast": (1000.0 + rng.uniform(-1.0, 1.0, shape)).astype(np.float32),
        "a few bright voxels in nothing": specks,
    }


BLANK = _blank_images()


@pytest.mark.parametrize("name", methods.METHODS)
@pytest.mark.parametrize("kind", list(BLANK))
def test_every_method_refuses_a_blank_image_the_same_way(name, kind):
    with pytest.raises(BlankImageError, match=r"image is (near-)?constant .*nothing to segment") as error:
        methods.get(name).segment(BLANK[kind].copy(), SPACING)
    assert "shape (48, 48, 3)" in str(error.value)


def test_the_blank_error_is_a_value_error_and_exported():
    assert issubclass(BlankImageError, ValueError) and issubclass(SpacingUnitError, ValueError)
    assert medseg_edu.BlankImageError is BlankImageError and medseg_edu.SpacingUnitError is SpacingUnitError


def test_a_scan_is_not_blank():
    case = prostate_phantom(3)
    image, spacing = as_scan(case.image, case.spacing)
    assert image.shape == case.image.shape and spacing == case.spacing
    noise = np.random.default_rng(1).normal(300.0, 50.0, (32, 32, 4))   # noise: not blank (quality's job)
    as_scan(noise, SPACING)
    ct = np.random.default_rng(2).uniform(-1000.0, 100.0, (32, 32, 4))  # negative values (CT in HU)
    as_scan(ct, SPACING)


def test_the_message_quotes_the_intensities():
    with pytest.raises(BlankImageError, match=r"98 % of its voxels lie between 99\.9\d* and 100"):
        as_scan(100.0 + np.random.default_rng(0).normal(0, 1e-4, (20, 20, 5)), SPACING)


@pytest.mark.parametrize("name", methods.METHODS)
@pytest.mark.parametrize("spacing, hint", [(METRES, r"metres\? Multiply by 1000: \(0\.625, 0\.625, 3\.6\) mm"),
                                           (MICROMETRES, r"micrometres\? Divide by 1000: \(0\.625, 0\.625, 3\.6\)")])
def test_every_method_names_a_spacing_in_the_wrong_unit(name, spacing, hint):
    image = prostate_phantom(3).image[:, :, 10:12]
    tracemalloc.start()
    try:
        with pytest.raises(SpacingUnitError, match=hint):
            methods.get(name).segment(image, spacing)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * image.nbytes + 2e6, f"{name} allocated {peak / 1e6:.0f} MB before refusing the spacing"


def _mask():
    mask = np.zeros((40, 40, 8), bool)
    mask[10:30, 12:28, 2:6] = True
    return mask


SPACING_USERS = {
    "volumetry.volume_ml": lambda sp: volumetry.volume_ml(_mask(), sp),
    "volumetry.ellipsoid_volume_ml": lambda sp: volumetry.ellipsoid_volume_ml(_mask(), sp),
    "volumetry.ellipsoid_diameters": lambda sp: volumetry.ellipsoid_diameters(_mask(), sp),
    "volumetry.longest_diameter_mm": lambda sp: volumetry.longest_diameter_mm(_mask(), sp),
    "volumetry.short_axis_mm": lambda sp: volumetry.short_axis_mm(_mask(), sp),
    "metrics.hausdorff95": lambda sp: metrics.hausdorff95(_mask(), np.roll(_mask(), 2, 0), sp),
    "metrics.mean_surface_distance": lambda sp: metrics.mean_surface_distance(_mask(), np.roll(_mask(), 2, 0), sp),
    "metrics.surface_distances": lambda sp: metrics.surface_distances(_mask(), np.roll(_mask(), 2, 0), sp),
    "io.Volume": lambda sp: io.Volume(np.zeros((4, 4, 4)), sp, np.diag([*sp, 1.0])),
    "io.Volume.from_array": lambda sp: io.Volume.from_array(np.zeros((4, 4, 4)), sp),
}


@pytest.mark.parametrize("user", list(SPACING_USERS))
@pytest.mark.parametrize("spacing, unit", [(METRES, "metres"), (MICROMETRES, "micrometres")])
def test_every_spacing_taker_names_the_unit(user, spacing, unit):
    with pytest.raises(SpacingUnitError, match=rf"cannot be millimetres.*Was it given in {unit}\?"):
        SPACING_USERS[user](spacing)


def test_the_plausible_range_is_inclusive_and_mixed_values_are_caught():
    low, high = PLAUSIBLE_SPACING_MM
    assert as_spacing((low, 1.0, high), 3) == (low, 1.0, high)
    with pytest.raises(SpacingUnitError, match=r"\(0\.625, 0\.625, 0\.0036\)"):
        as_spacing((0.625, 0.625, 0.0036), 3)   # one axis in metres is enough to be wrong
    with pytest.raises(ValueError, match="finite and > 0"):   # the older checks still come first
        as_spacing((0.625, 0.0, 3.6), 3)
