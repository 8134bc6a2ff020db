"""Small input checks shared by the package (bottom layer: imports only numpy).

Every check raises an error whose message names the argument and shows what
was received, so a learner sees *what* is wrong rather than a deep traceback.
Two problems have their own error class, so every function reports them the
same way: :class:`SpacingUnitError` (a voxel size that cannot be millimetres)
and :class:`BlankImageError` (a scan with nothing in it, refused by every
segmentation method through :func:`as_scan`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["BlankImageError", "SpacingUnitError", "PLAUSIBLE_SPACING_MM", "NEAR_CONSTANT_CONTRAST",
           "as_mask", "as_scan", "as_seed", "as_spacing", "as_volume", "check_not_blank", "same_shape"]

#: Smallest and largest voxel size (mm) a scan can have. Below: metres typed as mm
#: (0.000625); above: micrometres (625). Nothing in between is refused.
PLAUSIBLE_SPACING_MM = (0.01, 100.0)

#: A scan whose 1st-99th percentile intensity range is at most this share of its
#: intensity level is near-constant (blank): no structure for a method to find.
NEAR_CONSTANT_CONTRAST = 0.01


class SpacingUnitError(ValueError):
    """A voxel size that cannot be millimetres (e.g. given in metres or micrometres).

    Raised before anything is allocated from the spacing; the message shows the
    value and the conversion that would make it millimetres.
    """


class BlankImageError(ValueError):
    """A scan that is constant or nearly so: there is nothing in it to segment.

    Every method of :data:`medseg_edu.methods.METHODS` refuses such an image
    the same way (:func:`as_scan`), instead of returning a confident mask of nothing.
    """


def as_mask(a, name: str = "mask") -> np.ndarray:
    """Return ``a`` as a boolean mask.

    Parameters
    ----------
    a : numpy.ndarray
        Boolean array, or an integer / float label map (whole numbers). Any value ``> 0``
        counts as foreground (so a label map with 0 background, 1 PZ, 2 TZ
        gives the whole gland).
    name : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray of bool
        Same shape as ``a``. A bool input is returned as is (no copy).

    Raises
    ------
    TypeError
        If ``a`` is not a numpy array or has a non-numeric dtype.
    ValueError
        If ``a`` is 0-dimensional, contains NaN, or holds negative or fractional values (a
        probability map passed as a mask).
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array, got {type(a).__name__}; "
            f"wrap it with np.asarray(...) first"
        )
    if a.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a 0-d array (a single number)")
    if a.dtype == bool:
        return a
    if np.issubdtype(a.dtype, np.floating) and np.isnan(a).any():
        raise ValueError(
            f"{name} contains NaN values (shape {a.shape}, dtype {a.dtype}); "
            f"a mask must be 0/1 or labels >= 0"
        )
    if np.issubdtype(a.dtype, np.signedinteger) or np.issubdtype(a.dtype, np.floating):
        negative = np.count_nonzero(a < 0)
        if negative:
            # a 0/-1 mask (some tools store "true" as -1) would count as empty
            raise ValueError(
                f"{name} holds {negative} negative values (shape {a.shape}, dtype {a.dtype}, "
                f"{float(a.min()):g} to {float(a.max()):g}): a mask must be 0/1 or labels >= 0. "
                f"If -1 marks the structure, pass {name} != 0"
            )
    if np.issubdtype(a.dtype, np.integer):
        return a > 0
    if np.issubdtype(a.dtype, np.floating):
        fractional = np.count_nonzero(a != np.floor(a))
        if fractional:
            # counting every voxel > 0 of a probability map would give a silently wrong volume
            raise ValueError(
                f"{name} holds {fractional} fractional values (shape {a.shape}, dtype {a.dtype}, "
                f"{float(a.min()):.3g} to {float(a.max()):.3g}): a mask must be 0/1 or whole-number labels. "
                f"A probability map? Threshold it first, e.g. {name} >= 0.5"
            )
        return a > 0
    raise TypeError(
        f"{name} must be a bool, integer or float array, got dtype {a.dtype} (shape {a.shape})"
    )


def as_spacing(spacing, ndim: int, name: str = "spacing", shape=None) -> tuple[float, ...]:
    """Validate a voxel spacing and return it as a tuple of floats (mm).

    Parameters
    ----------
    spacing : sequence of float
        Voxel size in mm, one value per array axis, e.g. ``(0.625, 0.625, 3.6)``.
    ndim : int
        Number of array axes the spacing must describe.
    name : str
        Name used in error messages.
    shape : tuple of int, optional
        Shape of the array the spacing belongs to; only used in messages.

    Returns
    -------
    tuple of float
        ``ndim`` finite, strictly positive values in mm.

    Raises
    ------
    ValueError
        If the length differs from ``ndim`` or a value is not finite and > 0.
    SpacingUnitError
        If a value lies outside :data:`PLAUSIBLE_SPACING_MM` (metres or
        micrometres typed as mm); the message says how to convert it.
    """
    where = f"an array of shape {tuple(shape)}" if shape is not None else f"a {ndim}-D array"
    try:
        values = np.asarray(spacing, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} must be a sequence of {ndim} numbers in mm for {where}, got {spacing!r}"
        ) from err
    if values.ndim != 1 or values.size != ndim:
        raise ValueError(
            f"{name} must have one value (mm) per array axis: {ndim} values for {where}, "
            f"got {spacing!r}"
        )
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(
            f"{name} values must be finite and > 0 mm (for {where}), got {spacing!r}"
        )
    _check_spacing_unit(values, name, where)
    return tuple(float(v) for v in values)


def _check_spacing_unit(values: np.ndarray, name: str, where: str) -> None:
    """Raise :class:`SpacingUnitError` for voxel sizes no scan has in mm."""
    low, high = PLAUSIBLE_SPACING_MM
    shown = tuple(float(v) for v in values)
    if np.any(values < low):
        fixed = tuple(float(f"{v * 1000:.6g}") for v in values)
        raise SpacingUnitError(
            f"{name} {shown} (for {where}) cannot be millimetres: a voxel smaller than {low} mm is not a "
            f"scan's. Was it given in metres? Multiply by 1000: {fixed} mm")
    if np.any(values > high):
        fixed = tuple(float(f"{v / 1000:.6g}") for v in values)
        raise SpacingUnitError(
            f"{name} {shown} (for {where}) cannot be millimetres: a voxel larger than {high:g} mm is not a "
            f"scan's. Was it given in micrometres? Divide by 1000: {fixed} mm")


_AXES = {2: " (x, y)", 3: " (x, y, z)"}


def as_volume(image, spacing, ndim: int = 3, *, name: str = "image",
              dtype=np.float32) -> tuple[np.ndarray, tuple[float, ...]]:
    """Validate a scan and its voxel size; return them as an array and a tuple of mm.

    The one check every method and resampler applies to its input: a numeric,
    finite, ``ndim``-D image and ``ndim`` positive finite voxel sizes in mm.

    Parameters
    ----------
    image : array_like
        The scan, any intensity units: integer, float or bool (a mask counts
        as 0/1). Lists are accepted and converted.
    spacing : sequence of float
        Voxel size in mm, one value per array axis, e.g. ``(0.625, 0.625, 3.6)``.
    ndim : int
        Number of axes the image must have (3 for a volume, 2 for a slice).
    name : str
        Name used in error messages.
    dtype : numpy dtype or None
        dtype of the returned array (no copy when it already has it).
        ``None`` keeps the input's dtype, e.g. for a label map resampled
        with nearest-neighbour interpolation.

    Returns
    -------
    image : numpy.ndarray
        ``dtype`` (float32 by default), same shape.
    spacing : tuple of float
        ``ndim`` values in mm.

    Raises
    ------
    ValueError
        Wrong number of axes, an empty image, NaN or infinite values, or a
        spacing of the wrong length or with a value that is not finite and > 0.
    TypeError
        A dtype that is not integer, float or bool (strings, objects, complex).
    """
    a = np.asarray(image)
    if a.ndim != ndim:
        hint = "; for a single axial slice use image[:, :, None]" if ndim == 3 and a.ndim == 2 else ""
        raise ValueError(f"expected a {ndim}D {name}{_AXES.get(ndim, '')}, got shape {a.shape}{hint}")
    if not (a.dtype == bool or np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(
            f"{name} must be a numeric (integer, float or bool) array, got dtype {a.dtype} (shape {a.shape})"
        )
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
        n_nan = int(np.count_nonzero(np.isnan(a)))
        n_inf = int(np.count_nonzero(np.isinf(a)))
        raise ValueError(
            f"{name} contains {n_nan} NaN and {n_inf} infinite values (shape {a.shape}); "
            f"replace them (e.g. np.nan_to_num) first"
        )
    spacing = as_spacing(spacing, ndim, name="spacing", shape=a.shape)
    return (a if dtype is None else a.astype(dtype, copy=False)), spacing


def check_not_blank(image: np.ndarray, name: str = "image") -> None:
    """Raise :class:`BlankImageError` if ``image`` is constant or nearly so.

    Near-constant means: the range between the 1st and 99th intensity
    percentiles (what :func:`medseg_edu.data.normalise` stretches to 0-1) is at
    most :data:`NEAR_CONSTANT_CONTRAST` of the intensity level. An empty field
    of view, a constant image plus rounding noise, or a few bright voxels in
    nothing all qualify; any scan of a body does not.

    Parameters
    ----------
    image : numpy.ndarray
        Finite numeric array (checked by :func:`as_volume` first).
    name : str
        Name used in the message.
    """
    values = image.ravel()
    if values.size > 2 ** 22:  # a regular subsample is enough for two percentiles
        values = values[:: values.size // 2 ** 22 + 1]
    low, high = (float(v) for v in np.percentile(values, [1, 99]))
    level = max(abs(low), abs(high))
    if high - low > NEAR_CONSTANT_CONTRAST * level:
        return
    lo, hi = float(image.min()), float(image.max())
    if lo == hi:
        what = f"constant (all voxels = {lo})"
    else:
        what = (f"near-constant (98 % of its voxels lie between {low:.6g} and {high:.6g}, "
                f"all of them between {lo:.6g} and {hi:.6g})")
    raise BlankImageError(
        f"{name} is {what}: nothing to segment (shape {image.shape}, dtype {image.dtype}). "
        "Check that the right array was passed: an empty field of view, or a mask instead of the scan?")


def as_scan(image, spacing, *, name: str = "image") -> tuple[np.ndarray, tuple[float, ...]]:
    """The check at the entry of every segmentation method: a 3D scan with something in it.

    :func:`as_volume` (3D, numeric, finite, spacing in mm) then
    :func:`check_not_blank`.

    Returns
    -------
    image : numpy.ndarray, float32
    spacing : tuple of 3 float, mm

    Raises
    ------
    ValueError, TypeError, SpacingUnitError
        As :func:`as_volume`.
    BlankImageError
        A constant or near-constant image.
    """
    image, spacing = as_volume(image, spacing, 3, name=name)
    check_not_blank(image, name)
    return image, spacing


def same_shape(a: np.ndarray, b: np.ndarray, names: tuple[str, str] = ("a", "b")) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same shape.

    Parameters
    ----------
    a, b : numpy.ndarray
        Arrays to compare.
    names : tuple of str
        Names of the two arguments, used in the message.
    """
    sa, sb = np.shape(a), np.shape(b)
    if sa != sb:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, "
            f"got {names[0]}.shape={sa} and {names[1]}.shape={sb}"
        )


def as_seed(seed, name: str = "seed", what: str = "") -> int:
    """``seed`` as a Python int, or ``ValueError`` unless it is a whole number from 0 to 2**32 - 1.

    That is NumPy's seed range (``np.random.seed``), so one rule holds for every seed and
    session number in the package. NumPy's own messages for a bad seed ("expected
    non-negative integer", "SeedSequence expects int") do not name the argument, and a
    float such as 1.5 would otherwise be truncated silently by ``int()``.

    Parameters
    ----------
    seed : int or numpy.integer
    name : str
        The argument's name, used in the message.
    what : str
        What the number chooses (e.g. "the patient"), added to the message.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 32:
        about = f" ({what})" if what else ""
        raise ValueError(f"{name}{about} must be a whole number from 0 to 2**32 - 1, got {seed!r}")
    return int(seed)
