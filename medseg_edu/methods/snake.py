"""Contour-based segmentation: active contours ("snakes").

Two flavours, both from scikit-image:

* the classic parametric snake of Kass, Witkin & Terzopoulos (1988),
  :func:`skimage.segmentation.active_contour`: a closed chain of points pulled
  by internal forces (``alpha`` elasticity, ``beta`` rigidity) and image forces
  (``w_line`` intensity, ``w_edge`` edges), stepped with ``gamma``. Notebook 02
  uses it on one axial slice (:func:`active_contour_2d`, :func:`evolution`,
  :func:`examined_pixels`), and the learner writes its update step
  (:func:`snake_step`, with :func:`internal_matrix` and :func:`snake_force`);
* the morphological geodesic active contour (Marquez-Neila et al., PAMI 2014),
  :func:`skimage.segmentation.morphological_geodesic_active_contour`: a region
  that grows (balloon force) until it meets low values of a stopping image.
  :func:`segment` runs it slice by slice through a volume.

Entry point, like every method::

    mask = segment(image, spacing)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.filters import sobel
from skimage.morphology import black_tophat, disk
from skimage.segmentation import active_contour, morphological_geodesic_active_contour

from .._checks import as_mask, as_volume, check_not_blank
from ..data import normalise
from .quality import warn_if_unlike_a_scan


def _check_slice(slice2d):
    slice2d = np.asarray(slice2d, dtype=float)
    if slice2d.ndim != 2 or min(slice2d.shape) < 3:
        raise ValueError(f"expected a 2D slice, got shape {slice2d.shape}; take one with image[:, :, k]")
    if not np.all(np.isfinite(slice2d)):
        raise ValueError("slice contains NaN or infinite values")
    return slice2d


def _check_snake(snake, name="init"):
    snake = np.asarray(snake, dtype=float)
    if snake.ndim != 2 or snake.shape[1] != 2 or snake.shape[0] < 3:
        raise ValueError(f"{name} must be an (N, 2) array of (row, col) points with N >= 3, got shape {snake.shape}")
    if not np.all(np.isfinite(snake)):
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    return snake


def circle(center, radius, n_points=100):
    """A closed circular contour of ``n_points`` (row, col) points.

    Parameters
    ----------
    center : (float, float)
        Centre as (row, col), in pixels.
    radius : float
        Radius in pixels.
    n_points : int
        Number of points; the first is not repeated at the end.

    Returns
    -------
    np.ndarray, shape (n_points, 2)
        Row and column of each point, the order
        :func:`skimage.segmentation.active_contour` expects.
    """
    if not radius > 0:
        raise ValueError(f"radius must be > 0 pixels, got {radius!r}")
    if int(n_points) < 3:
        raise ValueError(f"a closed contour needs at least 3 points, got {n_points!r}")
    t = np.linspace(0, 2 * np.pi, int(n_points), endpoint=False)
    return np.column_stack([center[0] + radius * np.sin(t), center[1] + radius * np.cos(t)])


def active_contour_2d(slice2d, init_xy, *, alpha=0.015, beta=10.0, gamma=0.001, w_line=0.0, w_edge=1.0,
                      max_num_iter=250, sigma=1.0):
    """Run the classic snake on one 2D slice (a thin wrapper of scikit-image).

    The slice is scaled to 0-1 (1st-99th percentile) and smoothed with a
    Gaussian of ``sigma`` pixels first, so the weights mean the same on any
    scan.

    Parameters
    ----------
    slice2d : np.ndarray, (rows, cols)
        The image, any intensity units.
    init_xy : np.ndarray, (N, 2)
        Initial closed contour as (row, col) pixel coordinates.
    alpha : float
        Elasticity: resistance to stretching (keeps points close together).
    beta : float
        Rigidity: resistance to bending (keeps the contour smooth).
    gamma : float
        Viscosity of the update: each iteration solves
        ``(A + gamma I) x_new = gamma x + f(x)``, so a point moves by about
        ``f / gamma`` (larger gamma = smaller moves; scikit-image also caps a
        move at one pixel).
    w_line : float
        Attraction to brightness (negative: to dark lines); see :func:`external_force`.
    w_edge : float
        Attraction to edges (Sobel gradient magnitude).
    max_num_iter : int
        Iterations to run.
    sigma : float
        Gaussian pre-smoothing, pixels (0 to skip).

    Returns
    -------
    np.ndarray, (N, 2)
        The final contour, (row, col) in pixels.
    """
    slice2d = _check_slice(slice2d)
    init_xy = _check_snake(init_xy)
    if int(max_num_iter) < 1:
        raise ValueError(f"max_num_iter must be >= 1, got {max_num_iter!r}")
    if gamma <= 0:
        raise ValueError(f"gamma (the time step) must be > 0, got {gamma!r}")
    return _run(_prepare_slice(slice2d, sigma), init_xy, int(max_num_iter), alpha=alpha, beta=beta, gamma=gamma,
                w_line=w_line, w_edge=w_edge)


def external_force(image, *, w_line=0.0, w_edge=1.0):
    """The image force that pulls a snake: the gradient of ``P = w_line * I + w_edge * |Sobel(I)|``.

    scikit-image's :func:`~skimage.segmentation.active_contour` moves every
    point *up* this potential, i.e. it minimises the image energy
    ``E_image = -P``: a positive ``w_line`` attracts to bright pixels, a
    negative one to dark pixels, and a positive ``w_edge`` to strong edges.
    (Kass, Witkin & Terzopoulos 1988 write the same edge term as
    ``-|grad I|^2``; scikit-image uses the Sobel magnitude, not squared.)
    scikit-image interpolates ``P`` with a quadratic spline before
    differentiating; central differences, as here, agree with it away from
    the slice's border.

    Parameters
    ----------
    image : np.ndarray, (rows, cols)
        The prepared slice (scaled to 0-1 and smoothed, as the snake sees it).
    w_line, w_edge : float
        Weights of the intensity and edge terms.

    Returns
    -------
    (np.ndarray, np.ndarray)
        Force along rows and along columns, per pixel (units of ``P`` per
        pixel), the image's shape each.
    """
    image = _check_slice(image)
    potential = w_line * image + w_edge * sobel(image)
    force_rows, force_cols = np.gradient(potential)
    return force_rows, force_cols


def internal_matrix(n_points, alpha, beta):
    """The snake's internal-force matrix ``A = -alpha * D2 + beta * D4`` for a closed contour.

    ``D2`` is the cyclic second difference (``x[i-1] - 2 x[i] + x[i+1]``) and
    ``D4`` the cyclic fourth difference (``x[i-2] - 4 x[i-1] + 6 x[i] - 4 x[i+1] + x[i+2]``),
    as in scikit-image's :func:`~skimage.segmentation.active_contour`; ``A @ x``
    is the internal force's opposite on every point (elasticity ``alpha``,
    rigidity ``beta``).

    Returns
    -------
    np.ndarray, (n_points, n_points)
    """
    n = int(n_points)
    if n < 5:
        raise ValueError(f"a closed snake needs at least 5 points for the fourth difference, got {n_points!r}")
    eye = np.eye(n)
    second = np.roll(eye, -1, axis=0) + np.roll(eye, -1, axis=1) - 2 * eye
    fourth = (np.roll(eye, -2, axis=0) + np.roll(eye, -2, axis=1) - 4 * np.roll(eye, -1, axis=0)
              - 4 * np.roll(eye, -1, axis=1) + 6 * eye)
    return -alpha * second + beta * fourth


def snake_force(image, points, *, w_line=0.0, w_edge=1.0):
    """The image force on each snake point, sampled as scikit-image samples it.

    The potential ``P = w_line * I + w_edge * |Sobel(I)|`` (see
    :func:`external_force`) is interpolated with a quadratic spline and
    differentiated at the points themselves (between pixels too).

    Parameters
    ----------
    image : np.ndarray, (rows, cols)
        The prepared slice (scaled to 0-1 and smoothed).
    points : np.ndarray, (N, 2)
        The snake, (row, col) pixels.

    Returns
    -------
    np.ndarray, (N, 2)
        The force (dP/drow, dP/dcol) at each point.
    """
    from scipy.interpolate import RectBivariateSpline

    image, points = _check_slice(image), _check_snake(points, "points")
    potential = w_line * image + w_edge * sobel(image)
    spline = RectBivariateSpline(np.arange(image.shape[0]), np.arange(image.shape[1]), potential, kx=2, ky=2, s=0)
    rows, cols = points[:, 0], points[:, 1]
    return np.column_stack([spline(rows, cols, dx=1, grid=False), spline(rows, cols, dy=1, grid=False)])


def snake_step(points, force, *, alpha, beta, gamma, max_px_move=1.0):
    """One iteration of the classic snake, the way scikit-image's ``active_contour`` takes it.

    A semi-implicit Euler step: the internal forces are taken at the new
    position, the image force at the old one,

        (A + gamma I) x_new = gamma x + f(x),

    solved for the rows and the columns of all points at once (``A`` from
    :func:`internal_matrix`); then each coordinate moves by
    ``max_px_move * tanh(x_new - x)``, at most ``max_px_move`` pixels.

    Parameters
    ----------
    points : np.ndarray, (N, 2)
        The snake, (row, col) pixels.
    force : np.ndarray, (N, 2)
        The image force at each point (e.g. :func:`snake_force`).
    alpha, beta, gamma : float
        Elasticity, rigidity, viscosity (a larger ``gamma`` takes smaller steps).
    max_px_move : float
        Largest move of a coordinate in one step, pixels.

    Returns
    -------
    np.ndarray, (N, 2)
        The points after the step.
    """
    points = _check_snake(points, "points")
    force = np.asarray(force, dtype=float)
    if force.shape != points.shape:
        raise ValueError(f"force must have the points' shape {points.shape}, got {force.shape}")
    if not gamma > 0:
        raise ValueError(f"gamma (the time step) must be > 0, got {gamma!r}")
    system = internal_matrix(len(points), alpha, beta) + gamma * np.eye(len(points))
    target = np.linalg.solve(system, gamma * points + force)
    return points + max_px_move * np.tanh(target - points)


def _run(image, snake, n_iter, *, alpha=0.015, beta=10.0, gamma=0.001, w_line=0.0, w_edge=1.0):
    """scikit-image's snake on an already prepared (scaled, smoothed) image."""
    return active_contour(image, snake, alpha=alpha, beta=beta, gamma=gamma, w_line=w_line, w_edge=w_edge,
                          max_num_iter=n_iter, boundary_condition="periodic")


def prepare_slice(slice2d, sigma=1.0):
    """The slice as the snake sees it: scaled to 0-1 (1st-99th percentile) and smoothed (``sigma`` pixels)."""
    image = normalise(_check_slice(slice2d), clip=True, dtype=None)
    return ndimage.gaussian_filter(image, sigma) if sigma > 0 else image


_prepare_slice = prepare_slice


def evolution(slice2d, init_xy, *, every=25, n_steps=10, sigma=1.0, **params):
    """The snake every ``every`` iterations, as a list of contours.

    ``active_contour`` is restarted from the previous contour for ``every``
    iterations at a time, ``n_steps`` times, so the list shows the contour
    moving: ``[init, after every, after 2*every, ...]``.

    Parameters
    ----------
    slice2d, init_xy, sigma, **params
        As for :func:`active_contour_2d` (``params`` without ``max_num_iter``).
    every : int
        Iterations between two stored contours.
    n_steps : int
        Number of restarts.

    Returns
    -------
    list of np.ndarray, each (N, 2) in (row, col) pixels; ``n_steps + 1`` items.
    """
    if int(every) < 1 or int(n_steps) < 1:
        raise ValueError(f"every and n_steps must be >= 1, got {every!r} and {n_steps!r}")
    params.pop("max_num_iter", None)
    image = _prepare_slice(_check_slice(slice2d), sigma)
    snakes = [_check_snake(init_xy)]
    for _ in range(int(n_steps)):
        snakes.append(_run(image, snakes[-1], int(every), **params))
    return snakes


def examined_pixels(snakes, shape, radius=1):
    """Pixels the snake ever looked at: within ``radius`` of any of its points, over all iterations.

    A snake point samples the image (and its gradient) only in its own
    neighbourhood; every other pixel never influences the result.

    Parameters
    ----------
    snakes : sequence of (N, 2) arrays
        Contours in (row, col) pixels, e.g. from :func:`evolution`.
    shape : (int, int)
        Shape of the slice.
    radius : int
        Neighbourhood half-size in pixels (a (2 radius + 1)^2 square per point).

    Returns
    -------
    np.ndarray of bool, ``shape``
    """
    if len(shape) != 2:
        raise ValueError(f"shape must be the 2D shape of the slice, got {shape!r}")
    if radius < 0:
        raise ValueError(f"radius must be >= 0 pixels, got {radius!r}")
    seen = np.zeros(shape, bool)
    for snake in snakes:
        points = np.rint(_check_snake(snake, "snake")).astype(int)
        rows = np.clip(points[:, 0], 0, shape[0] - 1)
        cols = np.clip(points[:, 1], 0, shape[1] - 1)
        seen[rows, cols] = True
    if radius > 0:
        seen = ndimage.binary_dilation(seen, np.ones((2 * int(radius) + 1,) * 2, bool))
    return seen


# ---------------------------------------------------------------------------
# 3D: a morphological geodesic active contour, slice by slice
# ---------------------------------------------------------------------------
def stopping_image(slice2d, pixel_mm, *, line_mm=2.5, sigma_mm=0.6, alpha=20.0, thicken=1):
    """Where a growing contour must stop: near thin dark lines such as the prostate capsule.

    On T2-weighted MR the gland is wrapped in a thin dark capsule between the
    gland and the bright periprostatic fat. A black top-hat (closing minus
    image, with a disc of radius ``line_mm``) keeps dark structures narrower
    than about the disc's diameter, ``2 * line_mm`` (with the default at
    1.25 mm pixels: a disc of radius 2 pixels, 5 pixels or 6.25 mm across),
    and flattens everything else, including the large intensity steps inside
    the gland (transition vs peripheral zone). The stopping image is
    ``exp(-alpha * tophat)``: about 1 in open tissue, near 0 on dark lines.

    Parameters
    ----------
    slice2d : np.ndarray
        One axial slice scaled to about 0-1.
    pixel_mm : float
        In-plane pixel size, mm.
    line_mm : float
        Radius of the top-hat disc, mm (rounded to whole pixels, at least 1).
        Dark lines narrower than the disc's diameter, ``2 * radius + 1``
        pixels, count: a radius, not a line width.
    sigma_mm : float
        Gaussian pre-smoothing, mm.
    alpha : float
        Strength of the stop (larger stops at fainter lines).
    thicken : int
        Grey erosion of the result by this many pixels (closes small gaps).

    Returns
    -------
    np.ndarray of float in (0, 1], the slice's shape
    """
    smooth = ndimage.gaussian_filter(slice2d, sigma_mm / pixel_mm)
    g = np.exp(-alpha * black_tophat(smooth, disk(max(1, int(round(line_mm / pixel_mm))))))
    return ndimage.minimum_filter(g, 2 * thicken + 1) if thicken > 0 else g


@dataclass
class SnakeReport:
    """How :func:`segment` reached its mask (``segment(..., return_report=True)``).

    Attributes
    ----------
    closed_slices : tuple of int
        Slices whose contour closed inside the box (stopped at a capsule).
    kept_slices : tuple of int
        Slices kept as gland (before bridging gaps).
    start_slice : int
        The slice the search for gland slices started from.
    fallback : str or None
        ``None`` when the run through the middle (or the learner's largest
        ``init`` slice) closed; ``"nearest closed slice"`` when it did not and
        the search restarted from the closed slice nearest to it;
        ``"starting region"`` when no slice closed at all and the mask is just
        the starting region on the start slice - not a segmentation.
    """

    closed_slices: tuple
    kept_slices: tuple
    start_slice: int
    fallback: str | None = None

    @property
    def ok(self) -> bool:
        """True when no fallback was needed."""
        return self.fallback is None

    def message(self) -> str:
        """One sentence for a warning, or "" when no fallback was needed."""
        if self.fallback == "nearest closed slice":
            return (f"snake: no contour closed near slice {self.start_slice}; the mask is the run of closed "
                    f"slices nearest to it ({len(self.kept_slices)} slice(s): {list(self.kept_slices)}), "
                    "probably only part of the gland")
        if self.fallback == "starting region":
            return (f"snake: no contour closed on any slice (it leaked through the capsule everywhere); "
                    f"the mask is only the starting region on slice {self.start_slice} - not a segmentation")
        return ""


def segment(image, spacing, *, init=None, iterations=60, radius_mm=8.0, pixel_mm=1.25, half_width_mm=45.0,
            threshold=0.5, smoothing=3, alpha=20.0, sigma_mm=0.6, max_gap=2, return_report=False):
    """Segment the gland with a morphological geodesic active contour on every axial slice.

    How it works (no truth is used):

    1. **Region of interest.** Prostate scans are centred on the gland, so a
       box of +-``half_width_mm`` around the in-plane centre of the field of
       view is kept and resampled to ``pixel_mm`` pixels (speed). Intensities
       are scaled to 0-1 for the whole volume (1st-99th percentile).
    2. **Stopping image** per slice (:func:`stopping_image`): low on thin dark
       lines such as the capsule that wraps the gland, high elsewhere.
    3. **Automatic start.** On every slice, a disc of ``radius_mm`` at the
       centre of the field of view, where prostate scans are centred (or the
       learner's ``init`` mask). The contour grows with a balloon force
       (scikit-image's ``morphological_geodesic_active_contour``) until it
       meets the stopping lines all round.
    4. **Which slices hold gland.** A slice is accepted when its contour
       closed before reaching the edge of the box: beyond the apex and base
       there is no capsule, so the contour runs to the box edge. Accepted
       slices are kept in one run through the middle slice; runs of up to
       ``max_gap`` rejected slices inside it (a contour that leaked through a
       gap in the capsule) are bridged with the overlap of their neighbours.
       **Fallbacks, never an empty mask**: when that run holds no closed
       slice, the search restarts from the closed slice nearest the middle;
       when no slice closed at all, the mask is the starting region on the
       middle slice. Either way a ``UserWarning`` says so and the report's
       ``fallback`` names it.
    5. The mask is resampled back to the image grid.

    Parameters
    ----------
    image : np.ndarray, (x, y, z)
        T2-weighted volume, any intensity units.
    spacing : tuple of 3 float
        Voxel size in mm.
    init : np.ndarray of bool, (x, y, z), optional
        A starting mask instead of the automatic disc (used on the slices
        where it is not empty; the others get its largest slice).
    iterations : int
        Evolution steps per slice (the contour moves at most one pixel per
        step).
    radius_mm : float
        Radius of the automatic starting disc, mm.
    pixel_mm : float
        In-plane working pixel size, mm.
    half_width_mm : float
        Half width of the in-plane region of interest, mm.
    threshold : float
        The balloon pushes only where the stopping image exceeds this (0-1).
    smoothing : int
        Curvature smoothing steps per iteration (larger = rounder, leaks less
        through narrow gaps).
    alpha : float
        Strength of the stop at dark lines (see :func:`stopping_image`).
    sigma_mm : float
        Gaussian pre-smoothing of each slice before the top-hat, mm.
    max_gap : int
        Longest run of leaked slices bridged inside the gland.
    return_report : bool
        Also return a :class:`SnakeReport` (closed and kept slices, fallback).

    Returns
    -------
    np.ndarray of bool, the image's shape
        Never empty (see the fallbacks in step 4).
    SnakeReport
        Only with ``return_report=True``.
    """
    image, spacing, init = _check_segment_inputs(image, spacing, init, iterations, radius_mm, pixel_mm,
                                                 half_width_mm)
    warn_if_unlike_a_scan(image.shape, spacing, method="snake")
    nz = image.shape[2]

    # 1. region of interest around the in-plane centre, resampled to pixel_mm
    box, zoom = _region_of_interest(image.shape, spacing, half_width_mm, pixel_mm)
    crop = image[box]
    small = normalise(ndimage.zoom(crop, zoom, order=1), clip=True)
    size = small.shape[:2]

    # 3. starting regions: a central disc, or the learner's mask
    if init is None:
        starts, k0 = _disc_starts(size, nz, pixel_mm, radius_mm), nz // 2
    else:
        starts, k0 = _mask_starts(init, box, zoom, size)

    # 2 + 3. grow a contour on every slice; note which ones closed inside the box
    out = np.zeros(small.shape, bool)
    closed = np.zeros(nz, bool)
    for k in range(nz):
        out[:, :, k], closed[k] = _grow_slice(small[:, :, k], starts[:, :, k], pixel_mm, iterations=iterations,
                                              smoothing=smoothing, threshold=threshold, alpha=alpha,
                                              sigma_mm=sigma_mm)

    # 4. one run of closed slices through the middle, bridging short gaps; fallbacks so it is never empty
    keep, fallback, k_start = _gland_run(closed, k0, max_gap), None, k0
    if not keep.any() and closed.any():
        fallback = "nearest closed slice"
        k0 = int(np.flatnonzero(closed)[np.argmin(np.abs(np.flatnonzero(closed) - k0))])
        keep = _gland_run(closed, k0, max_gap)
    elif not keep.any():
        fallback = "starting region"
    report = SnakeReport(tuple(int(k) for k in np.flatnonzero(closed)), tuple(int(k) for k in np.flatnonzero(keep)),
                         int(k_start), fallback)
    _bridge_or_clear(out, keep)
    if fallback == "starting region":
        out[:, :, k0] = starts[:, :, k0]
    if fallback is not None:
        warnings.warn(report.message(), UserWarning, stacklevel=2)

    # 5. back to the image grid
    mask = _to_image_grid(out, image.shape, box, crop.shape)
    return (mask, report) if return_report else mask


def _check_segment_inputs(image, spacing, init, iterations, radius_mm, pixel_mm, half_width_mm):
    """Validate :func:`segment`'s inputs; returns the checked ``image``, ``spacing`` and ``init``."""
    image, spacing = as_volume(image, spacing)
    if int(iterations) < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations!r}")
    for name, value in (("radius_mm", radius_mm), ("pixel_mm", pixel_mm), ("half_width_mm", half_width_mm)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number of mm, got {value!r}")
    if init is not None:
        init = as_mask(init, name="init")   # a probability map is refused, not read as "everything > 0"
        if init.shape != image.shape:
            raise ValueError(f"init mask shape {init.shape} must match the image shape {image.shape}")
        if not init.any():
            raise ValueError("init mask is empty")
    check_not_blank(image)  # the data last: a wrong parameter is named even on a blank test image
    return image, spacing, init


def _region_of_interest(shape, spacing, half_width_mm, pixel_mm):
    """Step 1: the in-plane box of +-``half_width_mm`` around the centre, and the zoom to ``pixel_mm`` pixels.

    Returns ``(box, zoom)``: a tuple of slices for ``image[box]`` (all slices
    along z) and the zoom factors per axis (z unchanged).
    """
    nx, ny = shape[:2]
    half = [max(2, int(round(half_width_mm / s))) for s in spacing[:2]]
    box = tuple(slice(max(0, n // 2 - h), min(n, n // 2 + h)) for n, h in zip((nx, ny), half)) + (slice(None),)
    zoom = (spacing[0] / pixel_mm, spacing[1] / pixel_mm, 1.0)
    return box, zoom


def _disc_starts(size, nz, pixel_mm, radius_mm):
    """Step 3 (automatic): the same central disc of ``radius_mm`` on all ``nz`` slices, bool ``size + (nz,)``."""
    rows, cols = np.meshgrid(*[(np.arange(n) - (n - 1) / 2.0) * pixel_mm for n in size], indexing="ij")
    return np.repeat((rows ** 2 + cols ** 2 <= radius_mm ** 2)[:, :, None], nz, axis=2)


def _mask_starts(init, box, zoom, size):
    """Step 3 (learner's ``init``): the mask on the working grid; empty slices get its largest slice.

    Returns ``(starts, k0)`` with ``k0`` the index of the largest slice, where
    the search for gland slices starts.
    """
    starts = _fit(ndimage.zoom(init[box].astype(np.float32), zoom, order=1), size) > 0.5
    k0 = int(np.argmax(starts.sum(axis=(0, 1))))
    empty = ~starts.any(axis=(0, 1))
    starts[:, :, empty] = starts[:, :, [k0]]
    return starts, k0


def _grow_slice(slice2d, start, pixel_mm, *, iterations, smoothing, threshold, alpha, sigma_mm):
    """Steps 2-3 on one slice: grow ``start`` until it meets the stopping lines.

    Returns ``(region, closed)``: the filled region (bool) and whether it
    closed before touching the 2-pixel border of the box (a sign it stopped
    at a capsule rather than leaking out).
    """
    g = stopping_image(slice2d, pixel_mm, alpha=alpha, sigma_mm=sigma_mm)
    level = morphological_geodesic_active_contour(g, int(iterations), start.astype(np.int8),
                                                  smoothing=int(smoothing), balloon=1, threshold=threshold)
    region = ndimage.binary_fill_holes(level.astype(bool))
    border = np.ones(region.shape, bool)
    border[2:-2, 2:-2] = False
    return region, region.any() and not (region & border).any()


def _gland_run(closed, k0, max_gap):
    """Step 4: the slices kept as gland, walking up and down from ``k0``.

    A walk keeps every closed slice and stops after more than ``max_gap``
    rejected slices in a row (slice ``k0`` itself never stops it).
    """
    nz = len(closed)
    keep = np.zeros(nz, bool)
    for step in (1, -1):
        k, gap = k0, 0
        while 0 <= k < nz:
            if closed[k]:
                keep[k], gap = True, 0
            else:
                gap += 1
                if gap > max_gap and k != k0:
                    break
            k += step
    return keep


def _bridge_or_clear(out, keep):
    """Step 4, in place: a rejected slice between kept ones gets the overlap of its nearest kept
    neighbours (a bridged gap); any other rejected slice is emptied."""
    for k in np.flatnonzero(~keep):
        below, above = keep[:k], keep[k + 1:]
        if below.any() and above.any():  # a bridged gap: the overlap of the nearest kept neighbours
            lo, hi = np.flatnonzero(below)[-1], k + 1 + np.flatnonzero(above)[0]
            out[:, :, k] = out[:, :, lo] & out[:, :, hi]
        else:
            out[:, :, k] = False


def _to_image_grid(out, shape, box, crop_shape):
    """Step 5: resample the working-grid mask ``out`` back into ``box`` of an empty mask of ``shape``."""
    size = out.shape[:2]
    result = np.zeros(shape, bool)
    back = ndimage.zoom(out.astype(np.float32), (crop_shape[0] / size[0], crop_shape[1] / size[1], 1.0), order=1)
    result[box] = _fit(back, crop_shape[:2]) > 0.5
    return result

def _fit(array, size):
    """Crop or zero-pad the first two axes of ``array`` to ``size`` (guards against zoom rounding)."""
    out = np.zeros(tuple(size) + array.shape[2:], array.dtype)
    r, c = min(size[0], array.shape[0]), min(size[1], array.shape[1])
    out[:r, :c] = array[:r, :c]
    return out
