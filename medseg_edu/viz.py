"""Figures: slices with colour-blind-safe mask overlays and contours.

Every slice is drawn the radiological way, in every notebook: an axial slice is
seen from the feet, with the patient's **left on the right** of the screen and
anterior up; a coronal slice is seen from the front (patient's left on the
right, head up); a sagittal slice from the patient's left side (anterior on the
left, head up). The data are not flipped: ``axial(array, k)`` is
``array[:, :, k].T`` drawn with ``origin="lower"``, so a point at array
position ``(x, y)`` is plotted at ``ax.plot(x, y)`` as before, and
:func:`orientation_letters` (called by :func:`show_slice`) mirrors the x axis
of the panel and writes the letters at its edges. The mirroring stays when a
later call sets the limits (a zoom), so the letters never lie.

Sizes are chosen for a classroom projector and for print: figures are stored at
:data:`DPI` (100) with 11 pt text and no text under :data:`MIN_FONT_PT` (10 pt),
data lines at least :data:`MIN_LINE_PT` (1.5 pt, about 2 px) wide, a single
slice about 750 px wide, and panels of a row at least about 300 px tall.

Colours: one per method (:data:`METHOD_COLORS`) and one per role
(:data:`COLORS`), drawn from the Okabe-Ito and Paul Tol palettes and chosen so
that every pair stays apart (CIEDE2000 >= 13) for normal vision, simulated
deuteranopia and protanopia and on a washed-out projector, and none is a grey
(a grey outline vanishes on a greyscale MR image); ``tests/test_figures.py``
measures it. :data:`COLOR_NAMES` gives the word to use in prose and legends.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.colors import ListedColormap, Normalize

#: Colour per role. The truth is always bluish green, everywhere.
COLORS = {
    "truth": "#009E73",      # bluish green (Okabe-Ito)
    "prediction": "#E69F00",  # orange (Okabe-Ito): a prediction whose method is not named
    "pz": "#66CCEE",         # cyan (Tol bright)
    "tz": "#FFAABB",         # pink (Tol light)
    "other": "#332288",      # indigo (Tol muted)
    "error": "#CC3311",      # red (Tol vibrant)
    "accent": "#0077BB",     # blue (Tol vibrant)
    "highlight": "#EEDD88",  # light yellow (Tol light)
}
#: Colour per method, used by the showdown and wherever methods are compared. Each is
#: distinct, and none is the truth's colour, so "green" always means the expert outline.
#: The ellipsoid formula is a number, never an outline: black, for plots on white only.
METHOD_COLORS = {
    "threshold": "#332288", "snake": "#FFAABB", "atlas": "#66CCEE", "patch_cnn": "#EEDD88",
    "fcn": "#E69F00", "unet": "#CC3311", "dilated": "#0077BB", "ellipsoid": "#000000",
}
#: The word for each colour, for prose and legends ("the U-Net (red)").
COLOR_NAMES = {"#009E73": "green", "#E69F00": "orange", "#66CCEE": "cyan", "#FFAABB": "pink",
               "#332288": "indigo", "#CC3311": "red", "#0077BB": "blue", "#EEDD88": "light yellow",
               "#000000": "black"}
#: Stored resolution of every figure (dots per inch): sharp on a projector, small in git.
DPI = 100
#: Text sizes in points at the stored size: readable from the back of a classroom.
FONT_PT, LEGEND_PT, TITLE_PT = 11, 10, 12
#: No text in a figure is smaller than this (points).
MIN_FONT_PT = 10
#: No data line is thinner than this (points): 1.5 pt is about 2 px at :data:`DPI`.
MIN_LINE_PT = 1.5
#: Width in inches of a figure holding one slice (about 750 px at :data:`DPI`).
SINGLE_SLICE_INCHES = 7.5

#: A thin dark rim around every outline drawn on an image: light colours stay visible on bright fat.
OUTLINE_HALO = (patheffects.withStroke(linewidth=3.5, foreground="black", alpha=0.55),)

#: Edge letters (left, right, bottom, top) of each view, radiological convention.
ORIENTATION = {"axial": ("R", "L", "P", "A"), "coronal": ("R", "L", "I", "S"),
               "sagittal": ("A", "P", "I", "S")}


def setup(dpi: int = DPI) -> None:
    """Projector-ready defaults: :data:`DPI` dots per inch, 11 pt text, nothing under 10 pt,
    data lines at least :data:`MIN_LINE_PT` wide."""
    plt.rcParams.update({"figure.dpi": dpi, "savefig.dpi": dpi, "image.interpolation": "nearest",
                         "font.size": FONT_PT, "axes.titlesize": TITLE_PT, "axes.labelsize": FONT_PT,
                         "legend.fontsize": LEGEND_PT, "legend.title_fontsize": LEGEND_PT,
                         "xtick.labelsize": LEGEND_PT, "ytick.labelsize": LEGEND_PT,
                         "figure.titlesize": TITLE_PT + 1, "lines.linewidth": 2.0,
                         "lines.markersize": 7.0, "patch.linewidth": MIN_LINE_PT,
                         "hatch.linewidth": MIN_LINE_PT})


def _mirror_x(ax) -> None:
    """Run the x axis from high to low values, and keep it so when the limits are set again."""
    left, right = ax.get_xlim()
    if left < right:
        ax.set_xlim(right, left)
    if getattr(ax, "_medseg_mirrored", False):
        return

    def keep_mirrored(axes):
        lo, hi = axes.get_xlim()
        if lo < hi:  # a later set_xlim(a, b) with a < b (a zoom): mirror it again
            axes.set_xlim(hi, lo, emit=False)

    ax.callbacks.connect("xlim_changed", keep_mirrored)
    ax._medseg_mirrored = True


def orientation_letters(ax, view: str = "axial", *, color: str = "white") -> None:
    """Show a slice the radiological way and write the patient directions at its edges.

    ``view`` is "axial" (R/L and P/A), "coronal" (R/L and I/S) or "sagittal"
    (A/P and I/S). The panel must hold a slice drawn as the helpers draw it
    (array axis 0, 0 or 1 across for axial, coronal or sagittal; ``origin="lower"``).
    The x axis is then mirrored, so that the patient's left (low x in a RAS
    array) is on the right of the screen and, on a sagittal slice, anterior on
    the left; the mirroring survives a later ``set_xlim``. Letters: see
    :data:`ORIENTATION`.
    """
    if view not in ORIENTATION:
        raise ValueError(f"view must be one of {sorted(ORIENTATION)}, got {view!r}")
    _mirror_x(ax)
    left, right, bottom, top = ORIENTATION[view]
    style = dict(transform=ax.transAxes, color=color, fontsize=LEGEND_PT, fontweight="bold",
                 bbox=dict(boxstyle="round,pad=0.15", facecolor="black" if color == "white" else "white",
                           alpha=0.45, linewidth=0))
    ax.text(0.015, 0.5, left, ha="left", va="center", **style)
    ax.text(0.985, 0.5, right, ha="right", va="center", **style)
    ax.text(0.5, 0.015, bottom, ha="center", va="bottom", **style)
    ax.text(0.5, 0.985, top, ha="center", va="top", **style)


def zoom(ax, centre_xy, half_mm: float, spacing) -> None:
    """Show a square of +- ``half_mm`` around the array position ``centre_xy`` = (x, y) of a slice.

    Keeps the radiological mirroring of the panel (see :func:`orientation_letters`).
    ``spacing`` gives the pixel size in mm along x and y.
    """
    half_x, half_y = half_mm / spacing[0], half_mm / spacing[1]
    ax.set_ylim(centre_xy[1] - half_y, centre_xy[1] + half_y)
    if getattr(ax, "_medseg_mirrored", False):
        ax.set_xlim(centre_xy[0] + half_x, centre_xy[0] - half_x)
    else:
        ax.set_xlim(centre_xy[0] - half_x, centre_xy[0] + half_x)


def colorbar(ax, label: str, *, mappable=None, cmap=None, vmin=None, vmax=None, ticks=None):
    """A colourbar beside ``ax`` that says what a colour means, with a label and readable ticks.

    Pass the image (``mappable``) whose colours carry a value, or ``cmap`` with
    ``vmin``/``vmax`` for lines or markers coloured from a colormap. Returns the
    matplotlib ``Colorbar``.
    """
    from matplotlib.cm import ScalarMappable

    if mappable is None:
        if cmap is None or vmin is None or vmax is None:
            raise ValueError("give the mappable (an image), or cmap with vmin and vmax")
        mappable = ScalarMappable(Normalize(vmin, vmax), cmap)
    bar = ax.figure.colorbar(mappable, ax=ax, fraction=0.046, pad=0.03, ticks=ticks)
    bar.set_label(label, fontsize=FONT_PT)
    bar.ax.tick_params(labelsize=LEGEND_PT)
    return bar


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


def _display_array(image) -> np.ndarray:
    """``image`` as an array to draw: a bool mask shown as 0/1 (percentiles need numbers)."""
    image = np.asarray(image)
    return image.astype(np.float32) if image.dtype == bool else image


def _check_overlays(image, overlays: dict, kind: str) -> None:
    """Refuse an overlay of another shape than the image: it would be drawn shifted or cut, silently."""
    for name, mask in overlays.items():
        shape = np.shape(mask)
        if shape != image.shape:
            raise ValueError(f"{kind} {name!r} has shape {shape}, the image {image.shape}: an overlay must "
                             "come from the same volume, cropped the same way")


def central_crop(shape, half_mm: float, spacing):
    """Index of the central +- ``half_mm`` square of every axial slice of a volume of ``shape``.

    Prostate scans are centred on the gland, so this keeps the gland and its
    neighbours: ``image[viz.central_crop(image.shape, 50, spacing)]`` is the
    central 100 mm. ``spacing`` is the voxel size in mm (x, y first).
    """
    cx, cy = shape[0] // 2, shape[1] // 2
    hx, hy = int(half_mm / spacing[0]), int(half_mm / spacing[1])
    return np.s_[max(cx - hx, 0):cx + hx, max(cy - hy, 0):cy + hy]


def best_slice(mask) -> int:
    """Index of the axial slice where ``mask`` has the largest area (middle slice if empty)."""
    mask = np.asarray(mask)
    areas = mask.reshape(-1, mask.shape[-1]).sum(axis=0)
    return int(np.argmax(areas)) if areas.any() else mask.shape[-1] // 2


def show_slice(image, k=None, *, ax=None, spacing=None, masks=None, contours=None, title=None,
               vmin=None, vmax=None, alpha=0.35, legend=True, scalebar=True, orientation=True,
               colors=None):
    """Draw one axial slice with optional filled masks and contour lines, the radiological way.

    Parameters
    ----------
    image : np.ndarray, (x, y, z) or (x, y)
    k : int, optional
        Slice index; default: the slice with the most foreground of the first
        mask/contour given, else the middle slice.
    spacing : tuple, optional
        Voxel size in mm; gives the right aspect ratio and a 10 mm scale bar.
    masks, contours : dict of name -> mask (same shape as ``image``)
        Filled overlays and outlines; colours come from ``colors``, else from
        :data:`COLORS` when the name is known there, or from :data:`METHOD_COLORS`
        for a method's name. The legend shows the same colours.
    colors : dict of name -> colour, optional
        Colours for overlays whose names the palettes do not know (e.g. "CSF").
    orientation : bool
        Mirror the x axis (patient's left on the right) and write the letters
        R/L and P/A at the slice's edges (default), see :func:`orientation_letters`.
        Without it the slice is drawn unmirrored, as the array is stored.
    """
    image = _display_array(image)
    masks, contours, colors = dict(masks or {}), dict(contours or {}), dict(colors or {})
    _check_overlays(image, masks, "mask")
    _check_overlays(image, contours, "contour")
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
        color = colors.get(name) or _colour(name, i)
        layer = np.ma.masked_where(~axial(np.asarray(mask) > 0, k), np.ones(shown.shape))
        ax.imshow(layer, cmap=ListedColormap([color]), origin="lower", alpha=alpha, aspect=aspect,
                  vmin=0, vmax=1)
        handles.append(plt.Rectangle((0, 0), 1, 1, facecolor=color, alpha=min(1.0, 2 * alpha), label=name))
    for i, (name, mask) in enumerate(contours.items()):
        color = colors.get(name) or _colour(name, i + 1)
        outline = axial(np.asarray(mask) > 0, k).astype(float)
        if outline.any():
            drawn = ax.contour(outline, levels=[0.5], colors=[color], linewidths=2.0, origin="lower")
            drawn.set_path_effects(list(OUTLINE_HALO))
        handles.append(plt.Line2D([], [], color=color, lw=2.5, label=name, path_effects=list(OUTLINE_HALO)))
    if orientation:
        orientation_letters(ax, "axial")
    if scalebar and spacing is not None:
        _scale_bar(ax, 10.0 / spacing[0], shown.shape)
    if handles and legend:
        ax.legend(handles=handles, loc="upper right", fontsize=LEGEND_PT, framealpha=0.7)
    ax.set_title(title if title is not None else (f"axial slice {k}" if image.ndim == 3 else ""))
    ax.set_axis_off()
    if own_figure:
        ax.figure.tight_layout()  # the slice fills its figure, so it is stored about 750 px wide
    return ax


def show_map(values, *, ax, truth=None, title=None, cmap="magma", vmin=0.0, vmax=1.0, extent=None):
    """Draw a 2D map of values on the slice grid (a probability, a feature map), the radiological way.

    Parameters
    ----------
    values : np.ndarray, (x, y)
        One value per pixel, indexed like a slice of a RAS array (x across, y up).
    ax : matplotlib Axes
    truth : np.ndarray of bool, (x, y), optional
        Outlined in the truth's colour on top.
    title : str, optional
    cmap : str
        A perceptually uniform colormap ("magma" for probabilities, "gray" for features).
    vmin, vmax : float or None
        The value range the colours span (``None``: the map's own minimum / maximum).
    extent : tuple of 4 float, optional
        ``(left, right, bottom, top)`` in data units, e.g. ``(0, fov_mm, 0, fov_mm)`` to draw maps of
        different resolutions over the same field of view (mm).

    Returns
    -------
    matplotlib.image.AxesImage
        The image, for :func:`colorbar`.
    """
    values = np.asarray(values)
    shown = ax.imshow(axial(values, None), origin="lower", cmap=cmap, vmin=vmin, vmax=vmax, extent=extent)
    if truth is not None:
        outline = axial(np.asarray(truth) > 0, None).astype(float)
        if outline.any():
            ax.contour(outline, levels=[0.5], colors=[COLORS["truth"]], linewidths=2.0, origin="lower",
                       extent=extent)
    orientation_letters(ax, "axial")
    ax.set_title(title or "")
    ax.set_axis_off()
    return shown


def _scale_bar(ax, length_px: float, shape) -> None:
    """A white 10 mm bar near the screen's lower left corner, whichever way the x axis runs."""
    left, right = ax.get_xlim()
    direction = 1.0 if right > left else -1.0
    x0 = left + 0.08 * (right - left)
    y0 = shape[0] * 0.07
    ax.plot([x0, x0 + direction * length_px], [y0, y0], color="white", lw=3)
    ax.text(x0, y0 * 1.5, "10 mm", color="white", fontsize=LEGEND_PT, ha="left")  # ha is on screen


def _colour(name, i):
    """The colour of a named overlay: its own (COLORS, METHOD_COLORS), else the i-th spare."""
    if name in COLORS:
        return COLORS[name]
    if name in METHOD_COLORS:
        return METHOD_COLORS[name]
    spare = [c for key, c in COLORS.items() if key != "truth"]
    return spare[i % len(spare)]


def compare_masks(image, truth, prediction, k=None, *, ax=None, spacing=None, title=None, method=None):
    """Truth (green) and a prediction outlined on the same slice.

    The prediction is drawn in its method's colour when ``method`` names one
    (a key of :data:`METHOD_COLORS`), else in the generic prediction orange.
    """
    name = method if method in METHOD_COLORS else "prediction"
    return show_slice(image, k if k is not None else best_slice(truth), ax=ax, spacing=spacing,
                      contours={"truth": truth, name: prediction}, title=title)


def show_sagittal(image, x, *, ax=None, spacing=None, contours=None, title=None, true_aspect=True,
                  rows=None):
    """Draw the sagittal slice ``image[x]`` (y across, z up), anterior on the left.

    ``true_aspect=False`` draws square pixels - the classic mistake that squashes a
    thick-slice scan - so the two can be compared. ``rows`` optionally crops y
    (a slice object). ``contours`` as in :func:`show_slice`.
    """
    image = _display_array(image)
    _check_overlays(image, dict(contours or {}), "contour")
    if not 0 <= x < image.shape[0]:
        raise IndexError(f"sagittal slice {x} is outside the volume's {image.shape[0]} columns (axis 0)")
    if ax is None:
        _, ax = plt.subplots(figsize=(SINGLE_SLICE_INCHES, SINGLE_SLICE_INCHES))
    rows = rows if rows is not None else slice(None)
    aspect = spacing[2] / spacing[1] if (true_aspect and spacing is not None) else 1.0
    ax.imshow(image[x, rows].T, cmap="gray", origin="lower", aspect=aspect)
    for i, (name, mask) in enumerate(dict(contours or {}).items()):
        drawn = ax.contour(np.asarray(mask)[x, rows].T > 0, levels=[0.5], colors=[_colour(name, i + 1)],
                           linewidths=2.0, origin="lower")
        drawn.set_path_effects(list(OUTLINE_HALO))
    orientation_letters(ax, "sagittal")
    ax.set_title(title or "")
    ax.set_axis_off()
    return ax


def bland_altman(ax, result, *, color=None, unit="mm", title=None):
    """Draw a Bland-Altman plot: differences against means, the bias and the 95 % limits of agreement.

    ``result`` is what :func:`medseg_edu.volumetry.bland_altman` returns (``means``,
    ``differences``, ``bias``, ``lower``, ``upper``). The title (``title`` and a
    second line with the bias and the limits in ``unit``) says what the lines are.
    """
    ax.plot(result.means, result.differences, "o", color=color or COLORS["accent"], alpha=0.75)
    for level, style in ((result.bias, "-"), (result.lower, "--"), (result.upper, "--")):
        ax.axhline(level, color="black", ls=style, lw=MIN_LINE_PT)
    numbers = f"bias {result.bias:+.1f} {unit}, limits [{result.lower:+.1f}; {result.upper:+.1f}] {unit}"
    ax.set_title(f"{title}\n{numbers}" if title else numbers)
    return ax


def panel_inches(ncols: int) -> float:
    """Side in inches of one square panel in a row of ``ncols``.

    The row is about 9-10 inches (900-1000 px at :data:`DPI`) wide, and no panel is
    under 3 inches (300 px) or over :data:`SINGLE_SLICE_INCHES`.
    """
    return float(np.clip(9.6 / max(int(ncols), 1), 3.0, SINGLE_SLICE_INCHES))


def show_slices(image, ks, *, spacing=None, contours=None, masks=None, ncols=None, size=None, titles=None,
                colors=None):
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
        show_slice(image, k, ax=ax, spacing=spacing, contours=contours, masks=masks, colors=colors,
                   legend=(i == 0), scalebar=(i == 0), title=titles[i] if titles else None)
    fig.tight_layout()
    return fig


def flip_margins(ax, cohort, patients, limits, *, clip_percent: float = 100.0, title=None):
    """Histogram of how far patients are from a class flip, with each method's 95 % limits.

    Parameters
    ----------
    ax : matplotlib Axes
        Where to draw.
    cohort : array_like
        Flip margins of a (simulated) cohort, in % of the true volume
        (:func:`medseg_edu.volumetry.flip_margin_percent`): drawn as a histogram.
    patients : array_like
        Flip margins of a few real test patients (%): drawn as ticks under the histogram.
    limits : dict
        ``{label: (lower, upper, colour, filled)}`` - a method's 95 % limits of agreement
        in %. ``filled=True`` shades the band in ``colour``; ``False`` draws its two edges
        as dashed lines in ``colour``, so that two bands of the same method stay apart.
    clip_percent : float
        Margins beyond +- this many percent are piled into the outermost bins (a margin
        above +100 % is a patient whose volume would have to more than double to flip him
        down), and a note on the plot says so.
    title : str, optional
        The axes title.

    Returns
    -------
    matplotlib Axes
    """
    cohort, patients = np.asarray(cohort, float), np.asarray(patients, float)
    for label, (lower, upper, colour, filled) in limits.items():
        if filled:
            ax.axvspan(lower, upper, color=colour, alpha=0.25, lw=0, label=f"{label}: 95 % limits")
        else:
            for i, edge in enumerate((lower, upper)):
                ax.axvline(edge, color=colour, ls="--", lw=2.0, label=f"{label}: 95 % limits" if i == 0 else None)
    step = clip_percent / 40
    counts, _, _ = ax.hist(np.clip(cohort, -clip_percent, clip_percent),
                           bins=np.arange(-clip_percent, clip_percent + 2 * step, step),
                           color="0.35", label=f"{cohort.size} simulated patients")
    top = 1.1 * np.max(counts)
    ax.set_ylim(-0.08 * top, top)                    # room under the histogram for the patients' ticks
    beyond = int(np.sum(cohort > clip_percent))
    if beyond:
        ax.annotate(f"{beyond} beyond +{clip_percent:.0f} %,\npiled in the last bar", xy=(clip_percent, 0),
                    xytext=(0.97, 0.55), textcoords="axes fraction", ha="right", fontsize=LEGEND_PT,
                    arrowprops=dict(arrowstyle="->", lw=MIN_LINE_PT))
    ax.plot(patients, np.full(patients.shape, -0.04 * top), "|", ms=14, mew=2.5,
            color=COLORS["accent"], label=f"our {patients.size} test patients")
    ax.axvline(0, color="black", lw=MIN_LINE_PT)
    ax.set(xlabel="volume error that flips the class (% of the true volume)", ylabel="patients",
           xlim=(-clip_percent - step, clip_percent + 2 * step), title=title or "")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=LEGEND_PT)     # outside: the bands stay visible
    return ax


def method_spread(rows, names):
    """Three panels of the per-case spread behind a results table: Dice, volume error (%) and seconds.

    Parameters
    ----------
    rows : list of dict
        Result rows of :mod:`medseg_edu.showdown` (keys ``method``, ``dice``,
        ``volume_error_percent``, ``seconds``), one per method and case.
    names : sequence of str
        The methods, in the order of the x axis; each drawn in its :data:`METHOD_COLORS`.

    Returns
    -------
    matplotlib Figure
        One dot per case. The volume-error axis is symmetric-log (linear within +-2 %),
        the time axis logarithmic.
    """
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.0))
    for x, name in enumerate(names):
        own = [r for r in rows if r["method"] == name]
        for ax, key in zip(axes, ("dice", "volume_error_percent", "seconds")):
            values = np.array([float(r[key]) for r in own])
            ax.scatter(np.full(values.size, x), values, color=METHOD_COLORS.get(name, COLORS["prediction"]),
                       edgecolor="black", linewidths=MIN_LINE_PT / 2 + 0.75, zorder=3)
    axes[0].set(ylabel="Dice", ylim=(0, 1), title="overlap (higher is better)")
    axes[1].set(ylabel="volume error (%)", title="volume error (0 is best)")
    axes[1].set_yscale("symlog", linthresh=2.0)   # matplotlib's default, stated: the prose quotes it
    axes[1].axhline(0, color="black", lw=MIN_LINE_PT)
    axes[2].set(ylabel="seconds per case", yscale="log", title="cost (CPU)")
    for ax in axes:
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    fig.tight_layout()
    return fig


def method_outlines(image, truth, masks, k, *, spacing, half_mm=None, ncols: int = 4, title=None):
    """Small multiples: one axial panel per method, the truth and that method's outline on slice ``k``.

    Parameters
    ----------
    image, truth : numpy.ndarray
        The scan and its true mask (x, y, z).
    masks : dict
        ``{method: mask}``, each drawn in its :data:`METHOD_COLORS`; the panel title
        names the method, its colour (:data:`COLOR_NAMES`) and the Dice of that slice.
    k : int
        The axial slice.
    spacing : sequence of float
        Voxel size in mm.
    half_mm : float, optional
        Half the side of the square shown around the gland's centre (mm); default: the
        gland's larger half-extent on the slice plus 12 mm.
    ncols : int
        Panels per row; a spare panel holds the title text.
    title : str, optional
        Written in the first spare panel.

    Returns
    -------
    matplotlib Figure
    """
    from .metrics import dice

    n = len(masks) + (1 if title else 0)
    nrows = int(np.ceil(n / ncols))
    side = panel_inches(ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * side, nrows * side + 0.8), squeeze=False)
    inside = np.argwhere(np.asarray(truth)[:, :, k])
    centre = inside.mean(axis=0)
    if half_mm is None:
        half_mm = float(np.max(np.ptp(inside, axis=0) * np.asarray(spacing[:2]))) / 2 + 12.0
    for ax, (name, mask) in zip(axes.ravel(), masks.items()):
        colour = COLOR_NAMES.get(METHOD_COLORS.get(name, "").upper(), "orange")
        show_slice(image, k, ax=ax, spacing=spacing, contours={"truth": truth, name: mask}, legend=False,
                   scalebar=False, title=f"{name} ({colour})\nslice Dice {dice(mask[:, :, k], truth[:, :, k]):.2f}")
        zoom(ax, centre, half_mm, spacing)
    for ax in axes.ravel()[len(masks):]:
        ax.set_axis_off()
    if title:
        axes.ravel()[len(masks)].text(0.5, 0.5, title, ha="center", va="center",
                                      transform=axes.ravel()[len(masks)].transAxes)
    fig.tight_layout(h_pad=2.0)
    return fig


def paired_differences(ax, compared, *, unit: str = "Dice"):
    """Per-case differences between pairs of methods, with their mean and confidence interval.

    Parameters
    ----------
    ax : matplotlib Axes
    compared : dict
        ``{"a − b": PairedDifference}`` (:func:`medseg_edu.agreement.paired_difference`),
        one row of the plot each, top to bottom.
    unit : str
        What was compared, for the axis label.

    Returns
    -------
    matplotlib Axes
        One dot per case, a black bar for the interval and a diamond at the mean; the
        vertical line at 0 is "no difference".
    """
    labels = list(compared)
    rng = np.random.default_rng(0)                       # jitter only, so overlapping cases stay visible
    for row, label in enumerate(labels):
        d = compared[label]
        y = len(labels) - 1 - row
        ax.scatter(d.differences, y + rng.uniform(-0.18, 0.18, d.n), color=COLORS["accent"], alpha=0.6, zorder=2)
        ax.plot([d.lower, d.upper], [y, y], color="black", lw=4, solid_capstyle="butt", zorder=3)
        ax.plot(d.mean, y, "D", color="white", mec="black", mew=MIN_LINE_PT, ms=9, zorder=4)
    ax.axvline(0, color=COLORS["error"], lw=MIN_LINE_PT, ls="--")
    ax.set_yticks(range(len(labels)), labels[::-1])
    level = next(iter(compared.values())).level if compared else 0.95
    ax.set(xlabel=f"difference in {unit}, per case (dots); mean (diamond) and {level:.0%} interval (bar)")
    return ax


def outline_grid(slices, spacings, row_labels, outlines, *, half_mm: float = 70.0, vmin=0.0, vmax=1.0):
    """A grid of axial slices, one column per scan and one row per group of methods, outlines in method colours.

    Parameters
    ----------
    slices : dict
        ``{scan: 2D slice (x, y)}``, one column each, drawn in grey from ``vmin`` to ``vmax``
        (full grey levels, so the texture of the tissue stays visible).
    spacings : dict
        ``{scan: spacing}`` in mm (the in-plane pair is used).
    row_labels : list of str
        One row each (e.g. "no training", "phantom-v1 weights").
    outlines : dict
        ``{(scan, row_label): {method: 2D mask}}``; each method drawn in its :data:`METHOD_COLORS`.
    half_mm : float
        Half the side of the square shown around the slice's centre (mm).

    Returns
    -------
    matplotlib Figure
        With one legend of the methods under the grid.
    """
    scans = list(slices)
    side = panel_inches(len(scans))
    fig, axes = plt.subplots(len(row_labels), len(scans), figsize=(len(scans) * side, len(row_labels) * side + 0.9),
                             squeeze=False)
    drawn = {}
    for r, label in enumerate(row_labels):
        for c, scan in enumerate(scans):
            image, spacing = np.asarray(slices[scan]), spacings[scan]
            contours = outlines.get((scan, label), {})
            show_slice(image, ax=axes[r, c], spacing=spacing[:2], contours=contours, legend=False, scalebar=(r == 0),
                       vmin=vmin, vmax=vmax, title=f"{scan}\n{label}")
            zoom(axes[r, c], ((image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2), half_mm, spacing)
            drawn.update({name: METHOD_COLORS.get(name, COLORS["prediction"]) for name in contours})
    handles = [plt.Line2D([], [], color=colour, lw=2.5, label=name) for name, colour in drawn.items()]
    fig.legend(handles=handles, loc="lower center", ncol=max(len(handles), 1))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig
