"""Inference with the slice networks: a batch of grid slices, or a whole 3D scan slice by slice.

:func:`predict_proba` is the one way to get class probabilities for a numpy
batch of slices on the network grid (``medseg_edu.data.to_grid``:
``PIXEL_MM`` mm pixels, ``GRID`` x ``GRID``); :func:`patch_probabilities` is
the patch CNN's sliding window over such slices. A 2D network sees one slice;
a 2.5D network (the bundled grid networks) sees each slice with its
neighbours ``CONTEXT_STEP_MM`` below and above as extra input channels
(:func:`network_input`) - 3D context where the gland ends - and still
predicts one slice at a time. For a 3D scan,
:func:`probability_volume` normalises it, resamples every axial slice onto the
grid, runs the network and resamples the gland probability back onto the
scan's own grid, so the volume is measured at full resolution.
:func:`segment_with` is what ``medseg_edu.methods.<name>.segment`` does for
the deep methods (patch_cnn, fcn, unet, dilated; :func:`segmenter` makes
those functions), with the bundled weights of :mod:`medseg_edu.weights`:
it averages the prediction with that of the left-right mirrored scan
(test-time augmentation) and checks the result with
:func:`medseg_edu.methods.quality.quality_report`, warning when the mask is
implausible rather than returning a wrong volume in silence.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

from .. import nets, weights
from .._checks import as_scan
from .._device import resolve
from ..data import GRID, PIXEL_MM, from_grid, normalise, stack_slices, to_grid
from ..masks import largest_component
from . import quality as _quality

__all__ = ["predict_proba", "patch_probabilities", "probability_volume", "segment_with", "segmenter",
           "in_channels", "network_input", "checked_threshold"]

QUALITY_ACTIONS = ("warn", "ignore", "raise")
_METHODS_DIR = os.path.dirname(os.path.abspath(__file__))


def _on(model, device):
    """The device to run on (``device``, else ``medseg_edu.device()``), with the model moved there."""
    dev = resolve(device)
    model.to(dev)
    model.eval()
    return dev


def in_channels(model) -> int:
    """Input channels of a network: 1 for a 2D network, ``2 * context + 1`` for a 2.5D one."""
    channels = getattr(model, "hparams", {}).get("in_channels")
    if channels is None:
        first = next((m for m in model.modules() if isinstance(m, torch.nn.Conv2d)), None)
        channels = first.in_channels if first is not None else 1
    return int(channels)


def network_input(model, slices, slice_mm=None) -> np.ndarray:
    """Grid slices ``(z, H, W)`` of one scan as ``model`` takes them: ``(z, C, H, W)``.

    A 2D network (one input channel) gets each slice alone. A 2.5D network with
    ``C = 2 * context + 1`` channels gets each slice with its neighbours ``CONTEXT_STEP_MM``
    apart (:func:`medseg_edu.data.stack_slices`), which needs the slice spacing ``slice_mm``.
    """
    slices = np.asarray(slices, dtype=np.float32)
    channels = in_channels(model)
    if channels == 1:
        return slices[:, None]
    if channels % 2 == 0:
        raise ValueError(f"a network with {channels} input channels is neither 2D (1) nor 2.5D (odd: a slice "
                         f"and as many neighbours below as above)")
    if slice_mm is None:
        raise ValueError(f"this network is 2.5D ({channels} input channels: each slice with its neighbours); "
                         "give the (z, H, W) slices of one scan with slice_mm=<slice spacing in mm>, or stacks "
                         "(N, C, H, W) from medseg_edu.data.stack_slices")
    return stack_slices(slices, float(slice_mm), context=(channels - 1) // 2)


@torch.no_grad()
def predict_proba(model, images, *, batch_size=32, device=None, slice_mm=None) -> np.ndarray:
    """Class probabilities (softmax of the network's scores) for a numpy batch, in chunks.

    Parameters
    ----------
    model : torch.nn.Module
        A network of :mod:`medseg_edu.nets` (or any module returning class scores on axis 1).
    images : np.ndarray
        ``(N, H, W)`` grid slices, or ``(N, C, H, W)`` (``C`` input channels, usually 1);
        for a :class:`~medseg_edu.nets.PatchCNN`, ``N`` patches.
    batch_size : int
        Images per forward pass.
    device : str or torch.device, optional
        Default ``medseg_edu.device()`` (CUDA, then MPS, then CPU). The model is moved there
        and left there, in eval mode.
    slice_mm : float, optional
        For a 2.5D network (more than one input channel) given ``(N, H, W)``: the slices are
        the consecutive slices of one scan, this many mm apart, and each is stacked with its
        neighbours first (:func:`network_input`).

    Returns
    -------
    np.ndarray, float32
        ``(N, n_classes, H, W)`` for the segmentation networks, ``(N, n_classes)`` for the
        patch CNN; ``[:, 1]`` is the gland probability.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = network_input(model, images, slice_mm)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W) or (N, C, H, W); got shape {images.shape}")
    if len(images) == 0:
        raise ValueError("images is empty")
    return nets.class_probabilities(model, images, batch_size=batch_size, device=device)


@torch.no_grad()
def patch_probabilities(model, slices, *, batch_size=1024, device=None) -> np.ndarray:
    """Gland probability of every pixel of ``(N, H, W)`` slices, each pixel classified from its own patch.

    Sliding-window inference for a :class:`~medseg_edu.nets.PatchCNN`: one forward pass per
    pixel, ``batch_size`` patches at a time, on ``device`` (default ``medseg_edu.device()``;
    the model is moved there). Returns float32 ``(N, H, W)``.
    """
    dev = _on(model, device)
    half = model.hparams["patch_size"] // 2
    out = np.empty(slices.shape, np.float32)
    for k, grid_slice in enumerate(slices):
        padded = torch.from_numpy(np.pad(grid_slice, half)).to(dev)[None, None]
        # every pixel's patch, as a (pixels, 1, P, P) batch: one forward pass per pixel
        patches = torch.nn.functional.unfold(padded, 2 * half + 1).transpose(1, 2)
        patches = patches.reshape(-1, 1, 2 * half + 1, 2 * half + 1)
        probs = [torch.softmax(model(patches[i:i + batch_size]), dim=1)[:, 1]
                 for i in range(0, len(patches), batch_size)]
        out[k] = torch.cat(probs).reshape(grid_slice.shape).cpu().numpy()
    return out


def _grid_probabilities(model, slices, *, batch_size, device, per_pixel, slice_mm):
    if per_pixel:
        return patch_probabilities(model, slices, batch_size=batch_size, device=device)
    return predict_proba(model, network_input(model, slices, slice_mm), batch_size=batch_size, device=device)[:, 1]


def _probabilities(model, image, spacing, *, batch_size, device, per_pixel, tta):
    """The gland probability on the scan grid and one per augmentation, for a validated scan (``as_scan``).

    Returns ``(probability, per_augmentation)``: with ``tta`` the mean of the
    plain and the left-right mirrored prediction, and the two themselves;
    without, the plain prediction and an empty list.
    """
    if isinstance(model, str):
        model = weights.load(model)
    slices = to_grid(normalise(image), spacing, size=GRID, pixel_mm=PIXEL_MM)
    plain = _grid_probabilities(model, slices, batch_size=batch_size, device=device, per_pixel=per_pixel,
                                slice_mm=spacing[2])
    if not tta:
        return from_grid(plain, image.shape, spacing, pixel_mm=PIXEL_MM), []
    # grid slices are (z, x, y) and centred on the field of view: flipping x mirrors the
    # patient left-right about the scan's centre; flip the prediction back the same way
    mirrored = np.ascontiguousarray(slices[:, ::-1])
    flipped = _grid_probabilities(model, mirrored, batch_size=batch_size, device=device,
                                  per_pixel=per_pixel, slice_mm=spacing[2])[:, ::-1]
    back = [from_grid(np.ascontiguousarray(p), image.shape, spacing, pixel_mm=PIXEL_MM) for p in (plain, flipped)]
    return (back[0] + back[1]) / 2.0, back


def probability_volume(model, image, spacing, *, batch_size=16, device=None, per_pixel=False, tta=False):
    """Gland probability (0-1) on the scan's own grid, from slice-by-slice inference.

    Parameters
    ----------
    model : torch.nn.Module or str
        A 2D network returning class scores, or the name of bundled weights
        (loaded with :func:`medseg_edu.weights.load` once the input is validated).
    image : np.ndarray, (x, y, z)
        The scan, any intensity scale (normalised here). A constant image is
        refused (``ValueError``) before any network runs.
    spacing : tuple of 3 float
        Voxel size in mm.
    batch_size : int
        Grid slices per forward pass (patches per pass for ``per_pixel``).
    device : str or torch.device, optional
        Default :func:`medseg_edu.device` (CUDA, then MPS, then CPU).
    per_pixel : bool
        Sliding-window inference for a patch classifier: every pixel of
        every grid slice is classified from its own patch.
    tta : bool
        Test-time augmentation: average with the prediction for the
        left-right mirrored scan (mirrored back); twice the inference time.

    Returns
    -------
    np.ndarray, float32, the image's shape
        Gland probability; 0 outside the network's field of view (``GRID * PIXEL_MM`` mm).
    """
    image, spacing = as_scan(image, spacing)
    probs, _ = _probabilities(model, image, spacing, batch_size=batch_size, device=device,
                              per_pixel=per_pixel, tta=tta)
    return probs


def checked_threshold(threshold) -> float:
    """``threshold`` as a float, refused unless it is a gland probability strictly between 0 and 1.

    At 0 or below every voxel is gland, at 1 or above none is: a volume of the whole field of
    view or 0 mL, not a measurement (a threshold typed in percent, 50, is the usual slip).
    """
    try:
        value = float(threshold)
    except (TypeError, ValueError) as err:
        raise TypeError(f"threshold must be a number, got {threshold!r}") from err
    if not 0.0 < value < 1.0:
        raise ValueError(f"threshold is a gland probability strictly between 0 and 1, got {threshold!r}")
    return value


def _threshold(probs, threshold, keep_largest):
    raw = probs >= threshold
    return raw, (largest_component(raw) if keep_largest else raw)


def _user_stacklevel() -> int:
    """``stacklevel`` for :func:`quality.warn_if_doubtful` called from :func:`segment_with`: the first frame
    outside ``medseg_edu/methods`` (whoever called ``unet.segment`` or ``segment_with``)."""
    level, frame = 3, sys._getframe(2)  # 1: warn_if_doubtful, 2: segment_with, 3: its caller
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _METHODS_DIR:
        level, frame = level + 1, frame.f_back
    return level


def segment_with(name, image, spacing, *, model=None, threshold=0.5, largest_component=True, batch_size=16,
                 device=None, quality="warn", tta=True, return_report=False):
    """Whole-gland mask from deep method ``name`` (``medseg_edu.methods.<name>.segment``).

    Every axial slice is resampled in-plane to the network grid (``PIXEL_MM`` mm pixels),
    segmented there, and the gland probability resampled back to the scan's grid. With
    ``tta`` (test-time augmentation) the network also segments the left-right mirrored
    scan; the two probabilities, mirrored back into place, are averaged before the
    threshold - a slightly smoother and steadier mask for twice the inference time.
    The mask is then checked (:func:`medseg_edu.methods.quality.quality_report`: volume,
    pieces, field-of-view edges, compactness, agreement of the two predictions,
    confidence, and whether the input looks like an MR scan at all), so that an
    implausible result - a "gland" in pure noise, fragments on a scan the network was not
    trained for - comes with a warning instead of in silence.

    Parameters
    ----------
    name : str
        ``"patch_cnn"``, ``"fcn"``, ``"unet"`` or ``"dilated"`` (:data:`medseg_edu.weights.NAMES`).
        The patch CNN classifies every pixel from its own patch (sliding window).
    image : np.ndarray, (x, y, z)
        T2-weighted scan; any intensity scale (each scan is normalised). A constant image
        (every voxel the same: nothing to segment) is a ``ValueError`` before any network runs.
    spacing : tuple of 3 float
        Voxel size in mm.
    model : torch.nn.Module, optional
        A trained network of that kind; default the bundled one, ``medseg_edu.weights.load(name)``.
    threshold : float
        Gland probability (strictly between 0 and 1) from which a voxel is gland.
    largest_component : bool
        Keep only the largest connected 3D region (the gland is one piece).
    batch_size : int
        Grid slices per forward pass (for the patch CNN: patches per pass).
    device : str or torch.device, optional
        Default :func:`medseg_edu.device` (CUDA, then MPS, then CPU).
    quality : {"warn", "ignore", "raise"}
        What a failed plausibility check does: one ``UserWarning`` naming every failed check
        with its measured value and limit (default), nothing, or a ``ValueError`` with the
        same text.
    tta : bool
        Average with the mirrored scan's prediction (default). Always off for the patch CNN,
        whose sliding window is slow enough once.
    return_report : bool
        Also return the :class:`~medseg_edu.methods.quality.QualityReport` (computed even
        with ``quality="ignore"``).

    Returns
    -------
    mask : np.ndarray of bool, the image's shape
    report : QualityReport
        Only with ``return_report=True``: ``mask, report = segment_with(...)``;
        ``print(report)`` shows every check.
    """
    if name not in weights.NAMES:
        raise ValueError(f"unknown deep method {name!r}; choose one of {weights.NAMES}")
    if quality not in QUALITY_ACTIONS:
        raise ValueError(f"quality must be one of {QUALITY_ACTIONS}, got {quality!r}")
    threshold = checked_threshold(threshold)
    image, spacing = as_scan(image, spacing)
    per_pixel = name == "patch_cnn"
    probs, augmented = _probabilities(name if model is None else model, image, spacing, batch_size=batch_size,
                                      device=device, per_pixel=per_pixel, tta=bool(tta) and not per_pixel)
    raw, mask = _threshold(probs, threshold, largest_component)
    if quality == "ignore" and not return_report:
        return mask
    report = _quality.quality_report(
        image, spacing, mask, probability=probs, raw_mask=raw,
        augmented_masks=[_threshold(p, threshold, largest_component)[1] for p in augmented] or None)
    if quality == "raise" and not report.ok:
        raise ValueError(_quality.doubt_message(report, method=name))
    if quality == "warn":
        _quality.warn_if_doubtful(report, method=name, stacklevel=_user_stacklevel())
    return (mask, report) if return_report else mask


def segmenter(name, about):
    """The ``segment`` function of deep method ``name``: :func:`segment_with` with ``name`` filled in.

    ``about`` is what is special about the network (the start of the docstring); the
    parameters are :func:`segment_with`'s, with the same defaults.
    """

    def segment(image, spacing, *, model=None, threshold=0.5, largest_component=True, batch_size=16, device=None,
                quality="warn", tta=True, return_report=False):
        return segment_with(name, image, spacing, model=model, threshold=threshold,
                            largest_component=largest_component, batch_size=batch_size, device=device,
                            quality=quality, tta=tta, return_report=return_report)

    segment.__module__, segment.__qualname__ = f"medseg_edu.methods.{name}", "segment"
    segment.__doc__ = (about.strip() + "\n\n    The prediction is averaged with that of the mirrored scan (``tta``) "
                       "and checked for\n    plausibility (``quality``: a warning names what looks wrong).\n"
                       "    Parameters, defaults and result: :func:`medseg_edu.methods.deep.segment_with`.\n")
    return segment
