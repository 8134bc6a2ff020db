"""Checkers for notebook 00 (start here)."""

from __future__ import annotations

import numpy as np

from .. import volumetry
from . import ExerciseFailed, exercise


def _number(got, function):
    """The learner's result as a float, or a clear message when the function returned nothing."""
    if got is None:
        raise ExerciseFailed(f"your function returned None: end {function} with `return <the volume in mL>`")
    return float(got)


@exercise("00.voxel_volume")
def _voxel_volume(voxel_volume_ml):
    for spacing, expected in (((0.625, 0.625, 3.6), 0.00140625), ((1.0, 1.0, 1.0), 0.001), ((0.5, 0.5, 3.0), 0.00075)):
        got = _number(voxel_volume_ml(tuple(spacing)), "voxel_volume_ml")
        if not np.isclose(got, expected, rtol=1e-6):
            hint = " (did you divide by 1000? 1 mL = 1000 mm^3)" if np.isclose(got, expected * 1000) else ""
            raise ExerciseFailed(f"for spacing {spacing} mm you returned {got!r}, expected {expected} mL{hint}")
    return "a 0.625 x 0.625 x 3.6 mm voxel holds 1.41 microlitres."


@exercise("00.mask_volume")
def _mask_volume(mask_volume_ml):
    mask = np.zeros((10, 10, 4), bool)
    mask[2:7, 3:5, 1:3] = True  # 20 voxels
    for spacing in ((1.0, 1.0, 1.0), (0.5, 0.5, 4.0), (0.625, 0.625, 3.6)):
        expected = volumetry.voxels_to_ml(20, spacing)
        got = _number(mask_volume_ml(mask.copy(), spacing), "mask_volume_ml")
        if not np.isclose(got, expected, rtol=1e-6):
            raise ExerciseFailed(f"a mask of 20 voxels at spacing {spacing} mm should measure {expected:.5f} mL, you gave {got!r}")
    labels = mask.astype(np.uint8) * 2  # a label map (TZ = 2) must count voxels, not sum labels
    if not np.isclose(_number(mask_volume_ml(labels.copy(), (1.0, 1.0, 1.0)), "mask_volume_ml"), 0.02):
        raise ExerciseFailed("with a label map (values 0/1/2) count the voxels > 0; do not add up the label values")
    return "volume = voxel count x voxel volume, with the spacing - always."


@exercise("00.ellipsoid")
def _ellipsoid(ellipsoid_ml):
    got = _number(ellipsoid_ml(50.0, 35.0, 40.0), "ellipsoid_ml")
    expected = volumetry.ellipsoid_formula_ml(50.0, 35.0, 40.0)
    if not np.isclose(got, expected, rtol=1e-6):
        if np.isclose(got, expected * 1000):
            raise ExerciseFailed("your number is in mm^3: divide by 1000 to get mL")
        if np.isclose(got, 50 * 35 * 40 * 0.52 / 1000, rtol=1e-6):
            return "0.52 is the radiologists' shortcut for pi/6 = 0.5236; fine."
        raise ExerciseFailed(f"50 x 35 x 40 mm should give {expected:.1f} mL, you gave {got!r}")
    return f"50 x 35 x 40 mm gives {expected:.1f} mL."
