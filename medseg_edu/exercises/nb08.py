"""Checkers for notebook 08 (volumetry)."""

from __future__ import annotations

import numpy as np

from .. import volumetry
from . import ExerciseFailed, exercise


def _ellipsoid_masks():
    """Small test masks with known answers: a box, a tilted blob, a label map."""
    box = np.zeros((12, 10, 6), bool)
    box[2:9, 3:7, 1:5] = True  # 7 x 4 voxels in-plane, 4 slices
    blob = np.zeros((20, 18, 9), bool)
    x, y, z = np.ogrid[:20, :18, :9]
    blob[((x - 9.5) / 7) ** 2 + ((y - 8) / 5) ** 2 + ((z - 4) / 3.2) ** 2 < 1] = True
    blob[3:6, 2:4, 6] = True  # a stray piece on another slice: not the widest slice
    labels = box.astype(np.uint8)
    labels[4:6, 4:6, 2:4] = 2  # a "TZ" inside: the whole gland is labels > 0
    return ((box, (1.0, 1.0, 1.0)), (blob, (0.625, 0.625, 3.6)), (blob, (0.75, 0.5, 4.0)),
            (labels, (0.6, 0.6, 3.0)))


@exercise("08.ellipsoid_from_mask")
def _ellipsoid_from_mask(ellipsoid_from_mask):
    for mask, spacing in _ellipsoid_masks():
        expected = volumetry.ellipsoid_volume_ml(mask, spacing)
        got = ellipsoid_from_mask(mask, spacing)
        if got is None:
            raise ExerciseFailed("your function returned None: return the volume in mL")
        got = float(got)
        if np.isclose(got, expected, rtol=1e-6):
            continue
        d = volumetry.ellipsoid_diameters(mask, spacing)
        if np.isclose(got, expected * 1000, rtol=1e-6):
            raise ExerciseFailed("your number is in mm^3: divide by 1000 to get mL")
        voxels = [(d.transverse_mm / spacing[0]), (d.ap_mm / spacing[1]), (d.cc_mm / spacing[2])]
        in_voxels_ml = volumetry.ellipsoid_formula_ml(*voxels)
        if np.isclose(got, in_voxels_ml, rtol=1e-6) or np.isclose(got, in_voxels_ml * 1000, rtol=1e-6):
            raise ExerciseFailed("you measured the diameters in voxels: multiply each extent by its spacing (mm)")
        raise ExerciseFailed(
            f"for a mask of shape {np.shape(mask)} at spacing {spacing} mm the diameters are "
            f"{d.transverse_mm:.2f} x {d.ap_mm:.2f} x {d.cc_mm:.2f} mm (widest axial slice {d.axial_slice}; "
            f"extent = last - first + 1 voxels, times the spacing), so the volume is {expected:.4f} mL; "
            f"you gave {got:.4f}")
    return "three extents from the mask, times pi/6: the radiologist's formula, automated."


@exercise("08.psad_flips")
def _psad_flips(count_flips):
    psa = np.array([6.0, 6.0, 3.0, 9.0, 4.5, 12.0])
    vol_a = np.array([38.0, 42.0, 25.0, 55.0, 31.0, 70.0])   # densities 0.158 0.143 0.12 0.164 0.145 0.171
    vol_b = np.array([41.0, 39.0, 19.0, 62.0, 29.0, 85.0])   # densities 0.146 0.154 0.158 0.145 0.155 0.141
    expected = 6
    got = count_flips(psa, vol_a, vol_b)
    if int(got) != expected:
        raise ExerciseFailed(f"with these six patients every class changes (answer {expected}), you gave {got!r}")
    psa2 = np.array([6.0, 3.0, 7.5, 1.5])
    vol2a = np.array([40.0, 30.0, 50.0, 10.0])   # 0.15 (exactly at the cut-off: high), 0.10, 0.15, 0.15
    vol2b = np.array([40.0, 10.0, 51.0, 11.0])   # 0.15, 0.30, 0.147, 0.136
    got = count_flips(psa2, vol2a, vol2b)
    if int(got) != 3:
        raise ExerciseFailed(
            f"expected 3 flips for the second set, got {got!r}; a density of exactly 0.15 ng/mL/cc "
            "counts as 'at or above the cut-off' (>= 0.15)")
    got = count_flips(psa2, vol2a, vol2b, cutoff=0.2)
    if int(got) != 1:
        raise ExerciseFailed(f"use the cutoff argument (with cutoff=0.2 one patient flips), you gave {got!r}")
    return "a few millilitres either way is enough to move a patient across 0.15 ng/mL/cc."


@exercise("08.bland_altman")
def _bland_altman(limits_of_agreement):
    ref = np.array([30.0, 45.0, 52.0, 61.0, 80.0, 95.0])
    meas = np.array([28.0, 47.5, 49.0, 60.0, 84.0, 90.0])
    truth = volumetry.bland_altman(ref, meas)
    got = limits_of_agreement(ref, meas)
    try:
        bias, lower, upper = (float(v) for v in got)
    except (TypeError, ValueError):
        raise ExerciseFailed(f"return three numbers (bias, lower, upper), got {got!r}") from None
    if np.isclose(bias, -truth.bias):
        raise ExerciseFailed("the difference is measured - reference (a method that under-measures has a negative bias)")
    if not np.isclose(bias, truth.bias):
        raise ExerciseFailed(f"the bias is the mean of (measured - reference) = {truth.bias:.3f}, you gave {bias:.3f}")
    sd0 = np.std(meas - ref)
    if np.isclose(upper, truth.bias + 1.96 * sd0):
        raise ExerciseFailed("use the sample standard deviation (ddof=1), as Bland and Altman do")
    if not (np.isclose(lower, truth.lower) and np.isclose(upper, truth.upper)):
        raise ExerciseFailed(f"limits are bias -/+ 1.96 SD = [{truth.lower:.2f}; {truth.upper:.2f}], "
                             f"you gave [{lower:.2f}; {upper:.2f}]")
    return f"bias {truth.bias:.2f} mL, 95 % limits [{truth.lower:.2f}; {truth.upper:.2f}] mL."
