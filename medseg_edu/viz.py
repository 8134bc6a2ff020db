"""Figures: slices with colour-blind-safe mask overlays and contours.

Every axial slice is drawn the same way round in every notebook:
``array[:, :, k].T`` with ``origin="lower"`` - anterior up, the patient's
right on the right of the screen (see docs/DEVELOPING.md), with orientation
letters at its edges.

Sizes are chosen for a classroom projector and for print: figures are stored at
:data:`DPI` (100) with 11 pt text and 10 pt legends, a single slice is about
750 px wide, and panels of a row are at least about 300 px tall.
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
#: Colour per method, used by the showdown and wherever methods are compared. Each is
#: distinct, and none is the truth's colour, so "green" always means the expert outline.
METHOD_COLORS = {
    "threshold": "#999999", "snake": "#CC79A7", "atlas": "#56B4E9", "patch_cnn": "#F0E442",
    "fcn": "#E69F00", "unet": "#D55E00", "dilated": "#0072B2", "ellipsoid": "#000000",
}
#: Stored resolution of every figure (dots per inch): sharp on a projector, small in git.
DPI = 100
#: Text sizes in points at the stored size: readable from the back of a classroom.
FONT_PT, LEGEND_PT, TITLE_PT = 11, 10, 12
#: Width in inches of a figure holding one slice (about 750 px at :data:`DPI`).
SINGLE_SLICE_INCHES = 7.5

#: Edge letters (left, right, bottom, top) of each view as the viz helpers draw it.
ORIENTATION = {"axial": ("L", "R", "P", "A"), "coronal": ("L", "R", "I", "S"),
               "sagittal": ("P", "A", "I", "S")}


def setup(dpi: int = DPI) -> None:
    """Projector-ready defaults: :data:`DPI` dots per inch, 11 pt text, 10 pt legends."""
    plt.rcParams.update({"figure.dpi": dpi, "savefig.dpi": dpi, "image.interpolation": "nearest",
                         "font.size": FONT_PT, "axes.titlesize": TITLE_PT, "axes.labelsize": FONT_PT,
                         "legend.fontsize": LEGEND_PT, "xtick.labelsize": LEGEND_PT,
                         "ytick.labelsize": LEGEND_PT, "figure.titlesize": TITLE_PT + 1})


def orientation_letters(ax, view: str = "axial", *, color: str = "white") -> None:
    """Write the patient directions at the edges of a slice drawn by these helpers.

    ``view`` is "axial" (L/R and P/A), "coronal" (L/R and I/S) or "sagittal"
    (P/A and I/S). The letters assume the package's display convention (RAS
    arrays, ``origin="lower"``, see the module docstring).
    """
    if view not in ORIENTATION:
        raise ValueError(f"view must be one of {sorted(ORIENTATION)}, got {view!r}")
    left, right, bottom, top = ORIENTATION[view]
    style = dict(transform=ax.transAxes, color=color, fontsize=LEGEND_PT, fontweight="bold",
                 bbox=dict(boxstyle="round,pad=0.15", facecolor="black", alpha=0.45, linewidth=0))
    ax.text(0.015, 0.5, left, ha="left", va="center", **style)
    ax.text(0.985, 0.5, right, ha="right", va="center", **style)
    ax.text(0.5, 0.015, bottom, ha="center", va="bottom", **style)
    ax.text(0.5, 0.985, top, ha="center", va="top", **style)


def label_anatomy(ax, structures, k=None, *, min_area_px: int = 40, color: str = "white") -> None:
    """Name structures on a displayed slice, at the centre of each visible piece.

    Parameters
    ----------
    structures : dict of name -> bool mask, (x, y, z) or (x, y)
        For example ``{"bladder": case.anatomy["bladder"], "PZ": case.labels == 1}``.
        A name whose mask has several pieces on the slice (both femoral heads)
        is written on every piece larger than ``min_area_px`` pixels.
    k : int, optional
        The axial slice shown (needed for 3D masks).
    """
    from scipy import ndimage

    for name, mask in structures.items():
        shown = axial(np.asarray(mask) > 0, k)
        pieces, count = ndimage.label(shown)
        for index in range(1, count + 1):
            piece = pieces == index
            if piece.sum() < min_area_px:
                continue
            row, col = ndimage.center_of_mass(piece)
            ax.annotate(name, (col, row), ha="center", va="center", color=color, fontsize=LEGEND_PT,
                        fontweight="bold",
                        bbox=dict(boxstyle="round,pad=0.2", facecolor="black", alpha=0.5, linewidth=0))


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
               vmin=None, vmax=None, alpha=0.35, legend=True, scalebar=True, orientation=True):
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
        the name is known there, or from :data:`METHOD_COLORS` for a method's name.
    orientation : bool
        Write the L/R and P/A letters at the slice's edges (default).
    """
    image = np.asarray(image)
    masks, contours = dict(masks or {}), dict(contours or {})
    if k is None and image.ndim == 3:
        first = next(iter({**masks, **contours}.values()), None)
        k = best_slice(first) if first is not None else image.shape[2] // 2
    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(SINGLE_SLICE_INCHES, SINGLE_SLICE_INCHES))
    shown = axial(image, k)
    low, high = np.percentile(shown, [1, 99.5]) if shown.size else (0, 1)
    aspect = spacing[1] / spacing[0] if spacing is not None else 1.0
    ax.imshow(shown, cmap="gray", origin="lower", vmin=low if vmin is None else vmin,
              vmax=high if vmax is None else vmax, aspect=aspect)
    handles = []
    for i, (name, mask) in enumerate(masks.items()):
        color = _colour(name, i)
        layer = np.ma.masked_where(~axial(np.asarray(mask) > 0, k), np.ones(shown.shape))
        ax.imshow(layer, cmap=ListedColormap([color]), origin="lower", alpha=alpha, aspect=aspect,
                  vmin=0, vmax=1)
        handles.append(plt.Line2D([], [], color=color, lw=6, alpha=0.6, label=name))
    for i, (name, mask) in enumerate(contours.items()):
        color = _colour(name, i + 1)
        outline = axial(np.asarray(mask) > 0, k).astype(float)
        if outline.any():
            ax.contour(outline, levels=[0.5], colors=[color], linewidths=1.8, origin="lower")
        handles.append(plt.Line2D([], [], color=color, lw=2.5, label=name))
    if scalebar and spacing is not None:
        length = 10.0 / spacing[0]  # 10 mm in pixels
        x0, y0 = shown.shape[1] * 0.08, shown.shape[0] * 0.07
        ax.plot([x0, x0 + length], [y0, y0], color="white", lw=3)
        ax.text(x0, y0 * 1.5, "10 mm", color="white", fontsize=LEGEND_PT)
    if orientation:
        orientation_letters(ax, "axial")
    if handles and legend:
        ax.legend(handles=handles, loc="upper right", fontsize=LEGEND_PT, framealpha=0.7)
    ax.set_title(title if title is not None else (f"axial slice {k}" if image.ndim == 3 else ""))
    ax.set_axis_off()
    if own_figure:
        ax.figure.tight_layout()  # the slice fills its figure, so it is stored about 750 px wide
    return ax


def _colour(name, i):
    """The colour of a named overlay: its own (COLORS, METHOD_COLORS), else the i-th spare."""
    if name in COLORS:
        return COLORS[name]
    if name in METHOD_COLORS:
        return METHOD_COLORS[name]
    spare = [c for key, c in COLORS.items() if key != "truth"]
    return spare[i % len(spare)]


def compare_masks(image, truth, prediction, k=None, *, ax=None, spacing=None, title=None):
    """Truth and prediction outlined on the same slice (green vs orange)."""
    return show_slice(image, k if k is not None else best_slice(truth), ax=ax, spacing=spacing,
                      contours={"truth": truth, "prediction": prediction}, title=title)


def panel_inches(ncols: int) -> float:
    """Side in inches of one square panel in a row of ``ncols``.

    The row is about 9-10 inches (900-1000 px at :data:`DPI`) wide, and no panel is
    under 3 inches (300 px) or over :data:`SINGLE_SLICE_INCHES`.
    """
    return float(np.clip(9.6 / max(int(ncols), 1), 3.0, SINGLE_SLICE_INCHES))


def show_slices(image, ks, *, spacing=None, contours=None, masks=None, ncols=None, size=None, titles=None):
    """A row (or grid) of axial slices; returns the figure.

    ``size`` is each panel's side in inches (default :func:`panel_inches`).
    """
    ks = list(ks)
    ncols = ncols or len(ks)
    nrows = int(np.ceil(len(ks) / ncols))
    size = size or panel_inches(ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.ravel()[len(ks):]:
        ax.set_axis_off()
    for i, (ax, k) in enumerate(zip(axes.ravel(), ks)):
        show_slice(image, k, ax=ax, spacing=spacing, contours=contours, masks=masks,
                   legend=(i == 0), scalebar=(i == 0), title=titles[i] if titles else None)
    fig.tight_layout()
    return fig
