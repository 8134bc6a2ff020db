"""Image registration in PyTorch, written so a learner can see the transformation (notebook 03).

Register a *moving* image to a *fixed* one: find the transformation that makes
the two look alike, by gradient descent on an image-similarity loss. First an
affine map (12 numbers), then a smooth displacement field on a coarse grid of
control points. :mod:`medseg_edu.methods.atlas` uses it to carry atlas labels
to a new scan.

Geometry (the part that is easy to get wrong)
    Scans differ in voxel size and grid shape, so nothing is compared voxel by
    voxel. Every image is first resampled onto one **common grid**: a cube of
    ``GRID_SIZE`` points, ``GRID_MM`` mm apart (128 mm wide by default),
    centred on the centre of the field of view, where prostate scans put the
    gland. On that grid ``torch.nn.functional.affine_grid`` / ``grid_sample``
    coordinates run from -1 to +1 along x, y and z alike, and one unit is
    ``HALF_WIDTH_MM`` mm, so a transformation written in those coordinates is a
    transformation in millimetres, divided by a constant.

Tensors use PyTorch's ``(N, C, D, H, W)`` layout with ``D = z``, ``H = y``,
``W = x`` (:func:`as_tensor`); a sampling grid's last axis is then ordered
``(x, y, z)`` like the arrays' axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from .._checks import as_volume
from ..data import normalise

GRID_SIZE = 64          # points per side of the common grid
GRID_MM = 2.0           # their spacing, mm
HALF_WIDTH_MM = GRID_MM * (GRID_SIZE - 1) / 2.0   # mm from the centre to the outermost point


# --------------------------------------------------------------------------- input checks


def check_image(image, spacing, name="image"):
    """:func:`medseg_edu._checks.as_volume`, plus at least 2 voxels per axis (to span the common grid)."""
    image, spacing = as_volume(image, spacing, name=name)
    if min(image.shape) < 2:
        raise ValueError(f"{name} needs at least 2 voxels along every axis, got shape {image.shape}")
    return image, spacing


# --------------------------------------------------------------------------- the common grid


def to_common(volume, spacing, *, size=GRID_SIZE, step_mm=GRID_MM):
    """Resample a volume onto the common cube grid centred on its field of view.

    Parameters
    ----------
    volume : np.ndarray, (x, y, z)
        Image or mask (a mask comes back as a soft 0-1 fraction).
    spacing : tuple of 3 float
        Its voxel size in mm.
    size : int
        Points per side of the cube.
    step_mm : float
        Distance between grid points in mm.

    Returns
    -------
    values : np.ndarray, float32, (size, size, size)
        Linear interpolation after a Gaussian anti-aliasing blur along the
        axes whose voxels are finer than ``step_mm``; 0 outside the scan.
    inside : np.ndarray of bool, same shape
        Grid points that fall inside the scanned field of view (thick-slice
        scans cover less than 128 mm through-plane).
    """
    volume, spacing = check_image(volume, spacing, "volume")
    volume = volume.astype(np.float32)
    sigma = [0.4 * step_mm / s if step_mm > s else 0.0 for s in spacing]
    if any(sigma):
        volume = ndimage.gaussian_filter(volume, sigma, mode="nearest")
    step = np.array([step_mm / s for s in spacing])             # voxels per grid step
    centre = (np.array(volume.shape) - 1) / 2.0
    offset = centre - step * (size - 1) / 2.0
    values = ndimage.affine_transform(volume, step, offset=offset, output_shape=(size,) * 3,
                                      order=1, mode="constant", cval=0.0, prefilter=False)
    inside = np.ones((size,) * 3, bool)
    for axis, n in enumerate(volume.shape):
        index = offset[axis] + step[axis] * np.arange(size)
        ok = (index >= -0.5) & (index <= n - 0.5)
        shape = [1, 1, 1]
        shape[axis] = size
        inside &= ok.reshape(shape)
    return values.astype(np.float32), inside


def normalise_inside(values, inside):
    """Map the 1st-99th intensity percentiles *inside the scan* to 0-1; 0 outside (float32).

    :func:`medseg_edu.data.normalise` with ``inside``.
    """
    return normalise(values, inside=inside).astype(np.float32)


def centre_weight(sigma_mm=30.0, *, size=GRID_SIZE, step_mm=GRID_MM):
    """A Gaussian of ``sigma_mm`` around the centre of the common grid (1 at the centre).

    Multiplied into the similarity loss, it makes the registration care most
    about the middle of the field of view, where the gland is, and less about
    the body outline and the hips at the edges.
    """
    if not np.isfinite(sigma_mm) or sigma_mm <= 0:
        raise ValueError(f"sigma_mm must be a positive number of mm, got {sigma_mm!r}")
    mm = (np.arange(size) - (size - 1) / 2.0) * step_mm
    r2 = mm[:, None, None] ** 2 + mm[None, :, None] ** 2 + mm[None, None, :] ** 2
    return np.exp(-r2 / (2.0 * sigma_mm ** 2)).astype(np.float32)


def as_tensor(array):
    """(x, y, z) numpy array -> float32 tensor (1, 1, z, y, x) for ``grid_sample``."""
    return torch.from_numpy(np.ascontiguousarray(np.asarray(array, np.float32).transpose(2, 1, 0)))[None, None]


def as_array(tensor):
    """Inverse of :func:`as_tensor`: (1, 1, z, y, x) tensor -> (x, y, z) numpy array."""
    return tensor.detach()[0, 0].numpy().transpose(2, 1, 0).copy()


def identity_theta():
    """The 3 x 4 identity affine ``[A | t]`` in grid coordinates (-1..1)."""
    return torch.eye(3, 4)


def _dhw(size):
    return (int(size),) * 3 if np.ndim(size) == 0 else tuple(int(n) for n in size)


def affine_sampling_grid(theta, size=GRID_SIZE):
    """Where each fixed-grid point samples the moving image: ``A @ p + t``.

    ``size`` is the grid's side (a cube) or its (z, y, x) shape; the result
    has shape (1, z, y, x, 3), last axis ordered (x, y, z).
    """
    return F.affine_grid(theta[None], (1, 1, *_dhw(size)), align_corners=True)


def sample(moving, grid, *, mode="bilinear"):
    """Sample ``moving`` (1, C, z, y, x) at ``grid`` (1, ..., 3) points in grid coordinates; 0 outside."""
    return F.grid_sample(moving, grid, mode=mode, padding_mode="zeros", align_corners=True)


# --------------------------------------------------------------------------- similarity


def ncc_loss(fixed, warped, weight, window=7):
    """1 - local normalised cross-correlation in ``window``-point boxes (robust to bias fields).

    Parameters
    ----------
    fixed, warped : torch.Tensor (1, 1, z, y, x)
    weight : torch.Tensor, same shape
        1 where both images are defined, 0 elsewhere.
    window : int, odd
        Box side in grid points (7 points = 14 mm on the 2 mm grid).

    Returns
    -------
    torch.Tensor, scalar (0 for identical images, up to 2)
    """
    _check_grid_tensors(fixed=fixed, warped=warped, weight=weight)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1 or window % 2 == 0:
        raise ValueError(f"window must be an odd number of grid points (a box with a centre), got {window!r}")
    stack = torch.cat([fixed, warped, fixed * warped, fixed * fixed, warped * warped], dim=1)
    for kernel in ((window, 1, 1), (1, window, 1), (1, 1, window)):  # separable box mean: 3 cheap passes
        ones = torch.full((5, 1) + kernel, 1.0 / window)
        stack = F.conv3d(stack, ones, padding=tuple(k // 2 for k in kernel), groups=5)
    mf, mw, fw, ff, ww = stack.unbind(dim=1)
    cov = fw - mf * mw
    vf = (ff - mf * mf).clamp_min(0)
    vw = (ww - mw * mw).clamp_min(0)
    ncc = (cov / torch.sqrt(vf * vw + 1e-4))[:, None]
    return 1.0 - (ncc * weight).sum() / weight.sum().clamp_min(1.0)


def ncc(a, b):
    """Normalised cross-correlation of two images (one window), in [-1, 1].

    The covariance of the two images divided by the product of their standard
    deviations: ``sum((a - mean a)(b - mean b)) / sqrt(sum((a - mean a)^2) sum((b - mean b)^2))``.
    Subtracting the means makes it blind to a brightness offset and dividing by
    the spreads blind to a contrast gain, so ``ncc(a, 3 * a + 2) == 1``.
    :func:`ncc_loss` computes this in every small box of the image (local NCC).

    Parameters
    ----------
    a, b : array_like, same shape
        Intensities (any unit, any number of dimensions).

    Returns
    -------
    float
        1 for images equal up to gain and offset, -1 for inverted ones, 0 for a
        constant image (no spread to correlate).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(12.0).reshape(3, 4)
    >>> round(ncc(a, 3 * a + 2), 6), round(ncc(a, -a), 6)
    (1.0, -1.0)
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"ncc needs two images of the same shape, got {a.shape} and {b.shape}")
    da, db = a - a.mean(), b - b.mean()
    spread = np.sqrt((da * da).sum() * (db * db).sum())
    return float((da * db).sum() / spread) if spread > 0 else 0.0


# --------------------------------------------------------------------------- registration


@dataclass
class Registration:
    """The result of registering one moving image to a fixed image on the common grid.

    Attributes
    ----------
    theta : torch.Tensor (3, 4)
        Affine ``[A | t]`` in grid coordinates: fixed point ``p`` looks up
        the moving image at ``A @ p + t`` (one unit = ``HALF_WIDTH_MM`` mm).
    displacement : torch.Tensor (1, 3, z, y, x) or None
        Extra smooth displacement (grid coordinates, channels x, y, z) added
        after the affine by the deformable step.
    losses : list of float
        Loss after every optimisation step (affine, then deformable).
    """

    theta: torch.Tensor
    displacement: torch.Tensor | None = None
    losses: list | None = None

    def grid(self, size=GRID_SIZE):
        """Sampling grid (1, z, y, x, 3) of the whole transformation (``size``: side or (z, y, x))."""
        grid = affine_sampling_grid(self.theta, size)
        if self.displacement is not None:
            d = F.interpolate(self.displacement, size=_dhw(size), mode="trilinear", align_corners=True)
            grid = grid + d.permute(0, 2, 3, 4, 1)
        return grid


def gradient_step(theta, fixed, moving, weight, *, lr, window=5):
    """One step of plain gradient descent on the affine parameters (the step notebook 03's learner writes).

    Warp ``moving`` with ``theta`` (``affine_grid`` + ``grid_sample``), weight
    the local NCC loss by ``weight`` times the overlap of the two fields of
    view (the overlap *detached*: it says where to compare, it is not a way to
    lower the loss), differentiate with autograd and move ``theta`` downhill:
    ``theta - lr * d loss / d theta``. :func:`register_affine` runs the same
    loss with Adam instead, which scales each parameter's step by its own
    gradient history.

    Parameters
    ----------
    theta : torch.Tensor (3, 4)
        The current affine ``[A | t]`` in grid coordinates (not changed).
    fixed, moving, weight : torch.Tensor (1, 1, z, y, x)
        The two images on the same grid, and where the fixed one counts.
    lr : float
        Step size (grid units per unit of gradient).
    window : int
        Side of the NCC boxes, grid points.

    Returns
    -------
    (torch.Tensor (3, 4), float)
        The new ``theta`` (detached) and the loss before the step.
    """
    theta = theta.detach().clone().requires_grad_(True)
    grid = F.affine_grid(theta[None], fixed.shape, align_corners=True)
    warped = sample(moving, grid)
    valid = (weight * sample(torch.ones_like(moving), grid)).detach()
    loss = ncc_loss(fixed, warped, valid, window=window)
    loss.backward()
    return (theta - lr * theta.grad).detach(), float(loss.detach())


def register_affine(fixed, moving, weight=None, *, iterations=(40, 40), factors=(4, 2), lr=0.01, theta=None):
    """Affine registration, coarse to fine, by gradient descent on the local NCC loss.

    Parameters
    ----------
    fixed, moving : torch.Tensor (1, 1, z, y, x)
        Normalised images on the common grid.
    weight : torch.Tensor, optional
        1 where the fixed image is defined (its field of view).
    iterations : tuple of int
        Adam steps at each resolution level.
    factors : tuple of int
        Down-sampling factor of each level (4: 8 mm points, 2: 4 mm points on
        the default 2 mm grid). Coarse levels are cheap and see far.
    lr : float
        Adam learning rate (grid units; 0.01 = 0.6 mm of translation).
    theta : torch.Tensor (3, 4), optional
        Starting point; identity by default (both scans are centred on the gland).

    Returns
    -------
    Registration
    """
    if len(iterations) != len(factors):
        raise ValueError(f"give one iteration count per level: {iterations} vs factors {factors}")
    fixed, moving, weight = _grid_tensors(fixed, moving, weight)
    theta = (identity_theta() if theta is None else theta.detach().clone()).requires_grad_(True)
    optimiser = torch.optim.Adam([theta], lr=lr)
    losses = []
    for factor, steps in zip(factors, iterations):
        f, m, w = (_pool(t, factor) for t in (fixed, moving, weight))
        ones = torch.ones_like(m)
        for _ in range(steps):
            grid = F.affine_grid(theta[None], f.shape, align_corners=True)
            warped = sample(m, grid)
            valid = (w * sample(ones, grid)).detach()
            loss = ncc_loss(f, warped, valid, window=5)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
    return Registration(theta.detach(), None, losses)


def _check_grid_tensors(**images):
    """Raise unless every image given is a torch tensor (1, 1, z, y, x), all of one shape."""
    for name, value in images.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch tensor (1, 1, z, y, x) on the common grid, got "
                            f"{type(value).__name__}: use as_tensor(to_common(image, spacing)[0])")
    shapes = {name: tuple(value.shape) for name, value in images.items()}
    if len(set(shapes.values())) > 1 or any(len(shape) != 5 for shape in shapes.values()):
        names = ", ".join(list(images)[:-1]) + " and " + list(images)[-1]
        raise ValueError(f"{names} must be (1, 1, z, y, x) tensors of one shape, got {shapes}")


def _grid_tensors(fixed, moving, weight):
    """The three images of a registration, checked; weight 1s if None."""
    _check_grid_tensors(fixed=fixed, moving=moving, **({} if weight is None else {"weight": weight}))
    return fixed, moving, torch.ones_like(fixed) if weight is None else weight


def _pool(t, factor):
    return F.avg_pool3d(t, factor) if factor > 1 else t


def register_deformable(fixed, moving, affine, weight=None, *, control_mm=12.0, iterations=40, factor=2,
                        lr=0.004, smoothness=1.0, grid_mm=GRID_MM):
    """Refine an affine registration with a smooth displacement field.

    The displacement lives on a coarse control grid (a point every
    ``control_mm`` mm) and is upsampled trilinearly to the common grid, so it
    cannot bend sharply; a penalty on its first differences keeps it smooth.
    That penalty is the *membrane* (first-order, diffusion) regulariser: it
    charges any change of the displacement between neighbours, a uniform
    stretch included. (The *bending energy* of thin-plate splines charges
    second derivatives instead and leaves affine displacements free.)

    Parameters
    ----------
    fixed, moving, weight : torch.Tensor (1, 1, z, y, x)
    affine : Registration
        The affine result to start from (kept fixed).
    control_mm : float
        Control-point spacing in mm.
    iterations : int
        Adam steps.
    factor : int
        Down-sampling factor of the images during this step (2: 4 mm points).
    lr : float
        Adam learning rate (grid units).
    smoothness : float
        Weight of the membrane penalty (mean squared first differences of
        neighbouring control displacements, in mm^2).
    grid_mm : float
        Spacing of the (unpooled) grid in mm, to size the control grid.

    Returns
    -------
    Registration
        ``theta`` of ``affine`` plus the learned ``displacement``.
    """
    fixed, moving, weight = _grid_tensors(fixed, moving, weight)
    fixed, moving, weight = (_pool(t, factor) for t in (fixed, moving, weight))
    size = tuple(fixed.shape[2:])
    extent_mm = [(n * factor - 1) * grid_mm for n in size]           # (z, y, x) widths
    control = [max(2, int(round(e / control_mm)) + 1) for e in extent_mm]
    disp = torch.zeros(1, 3, *control, requires_grad=True)
    half_mm = torch.tensor([extent_mm[2], extent_mm[1], extent_mm[0]]).reshape(1, 3, 1, 1, 1) / 2.0
    base = affine_sampling_grid(affine.theta, size)
    optimiser = torch.optim.Adam([disp], lr=lr)
    losses = list(affine.losses or [])
    ones = torch.ones_like(moving)
    for _ in range(iterations):
        d = F.interpolate(disp, size=size, mode="trilinear", align_corners=True)
        grid = base + d.permute(0, 2, 3, 4, 1)
        warped = sample(moving, grid)
        valid = (weight * sample(ones, grid)).detach()
        mm = disp * half_mm
        membrane = sum(((mm.diff(dim=k)) ** 2).mean() for k in (2, 3, 4))   # first differences
        loss = ncc_loss(fixed, warped, valid, window=5) + smoothness * 1e-3 * membrane
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return Registration(affine.theta, disp.detach(), losses)


def warp_to_target(values, registration, shape, spacing, *, step_mm=GRID_MM):
    """Warp an atlas volume (on the common grid) onto the target's own voxel grid.

    Every target voxel inside the common cube looks up the transformation
    there (trilinear) and then the atlas ``values`` at the transformed point,
    so the labels keep the target's fine in-plane resolution.

    Parameters
    ----------
    values : np.ndarray (size, size, size)
        Atlas volume on the common grid, e.g. a soft gland mask.
    registration : Registration
    shape : tuple of 3 int
        Target grid shape.
    spacing : tuple of 3 float
        Target voxel size in mm.

    Returns
    -------
    np.ndarray, float32, ``shape``; 0 outside the common cube.
    """
    size = np.asarray(values).shape[0]
    half = step_mm * (size - 1) / 2.0
    out = np.zeros(shape, np.float32)
    lo, hi, coords = [], [], []
    for n, s in zip(shape, spacing):
        mm = (np.arange(n) - (n - 1) / 2.0) * s
        keep = np.nonzero(np.abs(mm) <= half)[0]
        if keep.size == 0:
            return out
        lo.append(int(keep[0]))
        hi.append(int(keep[-1]) + 1)
        coords.append(torch.from_numpy((mm[keep] / half).astype(np.float32)))
    z, y, x = torch.meshgrid(coords[2], coords[1], coords[0], indexing="ij")
    points = torch.stack([x, y, z], dim=-1)[None]                     # (1, z, y, x, 3)
    transform = registration.grid(size).permute(0, 4, 1, 2, 3)         # (1, 3, z, y, x)
    mapped = F.grid_sample(transform, points, mode="bilinear", padding_mode="border", align_corners=True)
    warped = sample(as_tensor(values), mapped.permute(0, 2, 3, 4, 1))
    out[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = as_array(warped)
    return out
