"""Figures: slices with colour-blind-safe mask overlays and contours.

Every axial slice is drawn the same way round in every notebook:
``array[:, :, k].T`` with ``origin="lower"`` - anterior up, the patient's
right on the right of the screen (see docs/DEVELOPING.md).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

#: Okabe-Ito colours, distinguishable with the common colour-vision deficiencies.
COLORS = {
    "truth": "#009E73",      # bluish green
    "prediction": "#E69F00",  # orange
    "pz": "#56B4E9",         # sky blue
    "tz": "#E69F00",         # orange
    "other": "#CC79A7",      # reddish purple
    "error": "#D55E00",      # vermillion
    "accent": "#0072B2",     # blue
    "highlight": "#F0E442",  # yellow
}
#: Colour per method, used by the showdown and wherever methods are compared.
METHOD_COLORS = {
    "threshold": "#999999", "snake": "#CC79A7", "atlas": "#56B4E9", "patch_cnn": "#F0E442",
    "fcn": "#E69F00", "unet": "#009E73", "dilated": "#0072B2", "ellipsoid": "#D55E00",
}
DPI = 72


def setup(dpi: int = DPI) -> None:
    """Modest figure resolution so executed notebooks stay small in git."""
    plt.rcParams.update({"figure.dpi": dpi, "savefig.dpi": dpi, "image.interpolation": "nearest",
                         "axes.titlesize": 10, "font.size": 9})


def axial(array, k):
    """The axial slice ``k`` of an (x, y, z) array, oriented for ``imshow(origin="lower")``."""
    array = np.asarray(array)
    if array.ndim == 2:
        return array.T
    if not 0 <= k < array.shape[2]:
        raise IndexError(f"slice {k} is outside the volume's {array.shape[2]} slices")
    return array[:, :, k].T


def best_slice(mask) -> int:
    """Index of the axial slice where ``mask`` has the largest area (middle slice if empty)."""
    mask = np.asarray(mask)
    areas = mask.reshape(-1, mask.shape[-1]).sum(axis=0)
    return int(np.argmax(areas)) if areas.any() else mask.shape[-1] // 2


def show_slice(image, k=None, *, ax=None, spacing=None, masks=None, contours=None, title=None,
               vmin=None, vmax=None, alpha=0.35, legend=True, scalebar=True):
    """Draw one axial slice with optional filled masks and contour lines.

    Parameters
    ----------
    image : np.ndarray, (x, y, z) or (x, y)
    k : int, optional
        Slice index; default: the slice with the most foreground of the first
        mask/contour given, else the middle slice.
    spacing : tuple, optional
        Voxel size in mm; gives the right aspect ratio and a 10 mm scale bar.
    masks, contours : dict of name -> mask (same shape as ``image``)
        Filled overlays and outlines; colours come from :data:`COLORS` when
        the name is known there.
    """
    image = np.asarray(image)
    masks, contours = dict(masks or {}), dict(contours or {})
    if k is None and image.ndim == 3:
        first = next(iter({**masks, **contours}.values()), None)
        k = best_slice(first) if first is not None else image.shape[2] // 2
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    shown = axial(image, k)
    low, high = np.percentile(shown, [1, 99.5]) if shown.size else (0, 1)
    aspect = spacing[1] / spacing[0] if spacing is not None else 1.0
    ax.imshow(shown, cmap="gray", origin="lower", vmin=low if vmin is None else vmin,
              vmax=high if vmax is None else vmax, aspect=aspect)
    handles = []
    for i, (name, mask) in enumerate(masks.items()):
        color = COLORS.get(name, list(COLORS.values())[i % len(COLORS)])
        layer = np.ma.masked_where(~axial(np.asarray(mask) > 0, k), np.ones(shown.shape))
        ax.imshow(layer, cmap=ListedColormap([color]), origin="lower", alpha=alpha, aspect=aspect,
                  vmin=0, vmax=1)
        handles.append(plt.Line2D([], [], color=color, lw=6, alpha=0.6, label=name))
    for i, (name, mask) in enumerate(contours.items()):
        color = COLORS.get(name, list(COLORS.values())[(i + 1) % len(COLORS)])
        outline = axial(np.asarray(mask) > 0, k).astype(float)
        if outline.any():
            ax.contour(outline, levels=[0.5], colors=[color], linewidths=1.2, origin="lower")
        handles.append(plt.Line2D([], [], color=color, lw=1.5, label=name))
    if scalebar and spacing is not None:
        length = 10.0 / spacing[0]  # 10 mm in pixels
        x0, y0 = shown.shape[1] * 0.05, shown.shape[0] * 0.05
        ax.plot([x0, x0 + length], [y0, y0], color="white", lw=2)
        ax.text(x0, y0 * 1.6, "10 mm", color="white", fontsize=7)
    if handles and legend:
        ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.6)
    ax.set_title(title if title is not None else (f"axial slice {k}" if image.ndim == 3 else ""))
    ax.set_axis_off()
    return ax


def show_case(case, k=None, *, ax=None, zones=False, title=None):
    """A phantom or MSD case with its truth outlined (zones filled if ``zones``)."""
    if zones:
        masks = {"pz": case.labels == 1, "tz": case.labels == 2}
        return show_slice(case.image, k if k is not None else best_slice(case.gland), ax=ax,
                          spacing=case.spacing, masks=masks, title=title or case.name)
    return show_slice(case.image, k, ax=ax, spacing=case.spacing, contours={"truth": case.gland},
                      title=title or case.name)


def compare_masks(image, truth, prediction, k=None, *, ax=None, spacing=None, title=None):
    """Truth and prediction outlined on the same slice (green vs orange)."""
    return show_slice(image, k if k is not None else best_slice(truth), ax=ax, spacing=spacing,
                      contours={"truth": truth, "prediction": prediction}, title=title)


def show_slices(image, ks, *, spacing=None, contours=None, masks=None, ncols=None, size=2.6, titles=None):
    """A row (or grid) of axial slices; returns the figure."""
    ks = list(ks)
    ncols = ncols or len(ks)
    nrows = int(np.ceil(len(ks) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.ravel()[len(ks):]:
        ax.set_axis_off()
    for i, (ax, k) in enumerate(zip(axes.ravel(), ks)):
        show_slice(image, k, ax=ax, spacing=spacing, contours=contours, masks=masks,
                   legend=(i == 0), scalebar=(i == 0), title=titles[i] if titles else None)
    fig.tight_layout()
    return fig
