"""Figures show anatomy the radiological way, in colours everyone can tell apart (issue 24, item 2).

* Radiological display: on an axial slice the patient's left (low x in a RAS array)
  is on the right of the screen and anterior is up; coronal likewise; sagittal with
  anterior on the left. Checked by where a marked voxel lands on the screen, and by
  the letters, after a zoom too.
* The palette: every pair of role and method colours stays apart (CIEDE2000) for
  normal vision, simulated deuteranopia and protanopia (Machado et al. 2009, via
  colorspacious) and on a projector washed out by room light; the pairs reviewers
  flagged (Okabe-Ito orange next to vermillion, sky blue next to blue) fail the same
  test, so the threshold means something. No colour drawn on MR is a grey.
* Readable: no text under 10 pt and no data line under 1.5 pt (about 2 px) in what the
  helpers draw, nor in the figure code of migrated notebooks (a static check: a test
  over stored PNGs cannot read font sizes); a plotting cell of more than 12 lines of
  code is folded (``source_hidden``) unless it defines a function.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from medseg_edu import viz  # noqa: E402
from teaching_migration import NOT_YET_MIGRATED, migrated  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

#: Smallest CIEDE2000 distance between two palette colours in any of the views below.
#: The Okabe-Ito pairs the issue flagged measure 12.5 (orange/vermillion, deuteranopia)
#: and 12.2 (sky blue/blue, projector) at worst: 13 rejects both.
MIN_DELTA_E = 13.0
#: The truth must stand out more than any two methods from each other.
MIN_DELTA_E_TRUTH = 15.0
#: CIELAB chroma below this is a grey that vanishes on a greyscale MR image.
MIN_CHROMA = 30.0


def screen_position(ax, x, y):
    """(horizontal, vertical) position of data point (x, y) as fractions of the axes box."""
    px = ax.transData.transform((x, y))
    return tuple(ax.transAxes.inverted().transform(px))


def letters_at(ax):
    """The orientation letters by edge: {"left": ..., "right": ..., "bottom": ..., "top": ...}."""
    found = {}
    for text in ax.texts:
        if text.get_transform() != ax.transAxes:
            continue
        x, y = text.get_position()
        edge = {x < 0.1: "left", x > 0.9: "right", y < 0.1: "bottom", y > 0.9: "top"}.get(True)
        if edge:
            found[edge] = text.get_text()
    return found


# --------------------------------------------------------------------------
# radiological display
# --------------------------------------------------------------------------
def test_axial_slice_puts_the_patients_left_on_the_right_and_anterior_up():
    volume = np.zeros((40, 30, 3))
    volume[3, 15, 1] = 1.0    # low x: the patient's left in a RAS array
    volume[20, 27, 1] = 1.0   # high y: anterior
    ax = viz.show_slice(volume, 1, spacing=(1.0, 1.0, 3.0))
    left_side, _ = screen_position(ax, 3, 15)
    _, front = screen_position(ax, 20, 27)
    assert left_side > 0.85, "the patient's left (x = 3) should be drawn near the right edge"
    assert front > 0.85, "anterior (high y) should be at the top"
    assert letters_at(ax) == {"left": "R", "right": "L", "bottom": "P", "top": "A"}
    plt.close(ax.figure)


def test_value_maps_are_drawn_the_radiological_way_with_their_outline_and_letters():
    values = np.zeros((24, 24))
    values[2, 12] = 1.0       # low x: the patient's left
    fig, ax = plt.subplots()
    shown = viz.show_map(values, ax=ax, truth=values > 0.5, extent=(0, 30, 0, 30))
    assert screen_position(ax, 2 * 30 / 24, 12 * 30 / 24)[0] > 0.85, "low x must be drawn near the right edge"
    assert letters_at(ax) == {"left": "R", "right": "L", "bottom": "P", "top": "A"}
    assert shown.get_clim() == (0.0, 1.0) and ax.collections, "probability scale 0-1 and the truth outlined"
    plt.close(fig)


def test_zoom_and_later_limits_keep_the_mirroring():
    ax = viz.show_slice(np.random.default_rng(0).random((64, 64)), spacing=(1.0, 1.0))
    viz.zoom(ax, (20, 30), 10, (1.0, 1.0))
    assert screen_position(ax, 12, 30)[0] > 0.85, "after a zoom, low x must still be on the right"
    ax.set_xlim(0, 63)   # a notebook's own zoom, limits in increasing order
    left, right = ax.get_xlim()
    assert left > right, "a later set_xlim must not undo the radiological mirroring"
    plt.close(ax.figure)


@pytest.mark.parametrize("view, expected", [("coronal", ("R", "L", "I", "S")),
                                            ("sagittal", ("A", "P", "I", "S"))])
def test_coronal_and_sagittal_letters_match_what_is_drawn(view, expected):
    fig, ax = plt.subplots()
    ax.imshow(np.zeros((10, 20)), origin="lower")
    viz.orientation_letters(ax, view)
    assert screen_position(ax, 0, 5)[0] > 0.9, f"{view}: low array index across must be on the right"
    assert letters_at(ax) == dict(zip(("left", "right", "bottom", "top"), expected))
    plt.close(fig)


def test_sagittal_helper_shows_anterior_on_the_left():
    volume = np.zeros((3, 30, 10))
    volume[1, 28, 5] = 1.0    # high y: anterior
    ax = viz.show_sagittal(volume, 1, spacing=(1.0, 1.0, 3.0))
    assert screen_position(ax, 28, 5)[0] < 0.15
    plt.close(ax.figure)


# --------------------------------------------------------------------------
# the palette
# --------------------------------------------------------------------------
def _views(hex_colours):
    """Each colour as seen by normal vision, deuteranopia, protanopia and on a washed-out projector."""
    import colorspacious

    rgb = np.array([[int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)] for h in hex_colours])
    views = {"normal vision": rgb, "projector (35 % room light)": 0.65 * rgb + 0.35}
    for kind in ("deuteranomaly", "protanomaly"):
        space = {"name": "sRGB1+CVD", "cvd_type": kind, "severity": 100}
        views[kind.replace("anomaly", "anopia")] = np.clip(colorspacious.cspace_convert(rgb, space, "sRGB1"), 0, 1)
    return views


def worst_distance(a, b):
    """Smallest CIEDE2000 distance between two colours over the views, and that view."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    results = []
    for view, rgb in _views([a, b]).items():
        lab = rgb2lab(rgb[None])[0]
        results.append((float(deltaE_ciede2000(lab[0], lab[1])), view))
    return min(results)


def palette():
    """Every distinct colour a figure may draw as a category (roles and methods), by one name each."""
    colours = {}
    for name, colour in {**viz.COLORS, **viz.METHOD_COLORS}.items():
        colours.setdefault(colour.upper(), name)
    return {name: colour for colour, name in colours.items()}


def test_flagged_pairs_fail_the_distinguishability_test():
    assert worst_distance("#E69F00", "#D55E00")[0] < MIN_DELTA_E   # orange next to vermillion
    assert worst_distance("#56B4E9", "#0072B2")[0] < MIN_DELTA_E   # sky blue next to blue


def test_every_pair_of_palette_colours_is_distinguishable():
    too_close = []
    for (n1, c1), (n2, c2) in itertools.combinations(palette().items(), 2):
        distance, view = worst_distance(c1, c2)
        need = MIN_DELTA_E_TRUTH if viz.COLORS["truth"].upper() in (c1.upper(), c2.upper()) else MIN_DELTA_E
        if distance < need:
            too_close.append(f"{n1} {c1} / {n2} {c2}: {distance:.1f} < {need} ({view})")
    assert not too_close, "; ".join(too_close)


def test_no_grey_among_the_colours_drawn_on_mr():
    from skimage.color import rgb2lab

    greys = []
    for name, colour in palette().items():
        if name == "ellipsoid":      # a number, never drawn on an image
            continue
        lab = rgb2lab(np.array([[[int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]]]))[0, 0]
        if np.hypot(lab[1], lab[2]) < MIN_CHROMA:
            greys.append(f"{name} {colour}")
    assert not greys, f"greys vanish on greyscale MR: {greys}"


def test_every_method_has_its_own_colour_never_the_truths_and_a_name():
    colours = [c.upper() for c in viz.METHOD_COLORS.values()]
    assert len(set(colours)) == len(colours)
    assert viz.COLORS["truth"].upper() not in colours
    named = {c.upper() for c in viz.COLOR_NAMES}
    assert {c.upper() for c in [*viz.COLORS.values(), *viz.METHOD_COLORS.values()]} <= named


# --------------------------------------------------------------------------
# readable: text and lines
# --------------------------------------------------------------------------
def _texts(fig):
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip()]


def test_helpers_draw_no_text_under_10_pt_and_no_thin_lines():
    viz.setup()
    rng = np.random.default_rng(1)
    image = rng.random((60, 60, 4))
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.5))
    viz.show_slice(image, 2, ax=axes[0], spacing=(1.0, 1.0, 3.0), masks={"pz": image > 0.7},
                   contours={"truth": image > 0.5, "unet": image > 0.6})
    viz.label_anatomy(axes[0], {"bladder": image > 0.9}, 2, min_area_px=1)
    viz.show_sagittal(image, 30, ax=axes[1], spacing=(1.0, 1.0, 3.0), contours={"truth": image > 0.5})
    shown = axes[2].imshow(image[:, :, 0], cmap="viridis")
    viz.colorbar(axes[2], "probability", mappable=shown)
    fig.canvas.draw()
    small = [(t.get_text(), t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < viz.MIN_FONT_PT]
    assert not small, f"text under {viz.MIN_FONT_PT} pt: {small}"
    from matplotlib.collections import LineCollection
    thin = [c for c in fig.findobj(LineCollection)
            if c.axes in axes and len(c.get_linewidths()) and np.min(c.get_linewidths()) < viz.MIN_LINE_PT]
    thin += [line for line in fig.findobj(matplotlib.lines.Line2D)
             if line.get_visible() and len(line.get_xdata()) > 1 and line.get_linewidth() < viz.MIN_LINE_PT
             and line.axes is not None and line.axes in axes]
    assert not thin, f"{len(thin)} data line(s) under {viz.MIN_LINE_PT} pt"
    plt.close(fig)


def test_setup_gives_defaults_no_thinner_than_the_minimum():
    viz.setup()
    rc = matplotlib.rcParams
    assert rc["lines.linewidth"] >= viz.MIN_LINE_PT and rc["patch.linewidth"] >= viz.MIN_LINE_PT
    assert viz.MIN_LINE_PT * viz.DPI / 72 >= 2.0, "the minimum line must be at least 2 px at the stored dpi"
    for key in ("font.size", "legend.fontsize", "legend.title_fontsize", "xtick.labelsize", "ytick.labelsize",
                "axes.titlesize", "axes.labelsize"):
        assert rc[key] >= viz.MIN_FONT_PT, key


def test_colorbar_needs_a_scale_and_labels_it():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="mappable"):
        viz.colorbar(ax, "Dice", cmap="viridis")
    bar = viz.colorbar(ax, "Dice", cmap="viridis", vmin=0, vmax=1)
    assert bar.ax.get_ylabel() == "Dice"
    plt.close(fig)


def test_overlay_colours_match_their_legend():
    fig, ax = plt.subplots()
    image = np.random.default_rng(2).random((30, 30))
    viz.show_slice(image, ax=ax, masks={"CSF": image > 0.8, "GM": image < 0.2},
                   colors={"CSF": "#0077BB", "GM": "#E69F00"})
    legend = {h.get_label(): matplotlib.colors.to_hex(h.get_facecolor()[:3]) for h in ax.get_legend().legend_handles}
    assert legend == {"CSF": "#0077bb", "GM": "#e69f00"}
    drawn = [matplotlib.colors.to_hex(im.get_cmap()(1.0)[:3]) for im in ax.get_images()[1:]]
    assert drawn == ["#0077bb", "#e69f00"]
    plt.close(fig)


# --------------------------------------------------------------------------
# the figure code of the notebooks
# --------------------------------------------------------------------------
SMALL_FONT = re.compile(r"\bfontsize\s*=\s*(\d+(?:\.\d+)?)")
THIN_LINE = re.compile(r"\b(?:lw|linewidth|linewidths)\s*=\s*(\d+(?:\.\d+)?)")


#: A plotting cell longer than this (lines of code) is folded or becomes a viz helper.
MAX_VISIBLE_PLOT_LINES = 12
PLOTTING = re.compile(r"plt\.subplots|\.imshow\(|\.plot\(|\.bar\(|\.hist\(|viz\.show_")


def figure_code_problems(path):
    """Explicit font sizes under 10 pt, line widths under 1.5 pt and long unfolded plotting cells."""
    problems = []
    for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        lines = [line for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]
        folded = cell.get("metadata", {}).get("jupyter", {}).get("source_hidden", False)
        defines_widget = "explorer(" in source or source.lstrip().startswith("def ")
        if (PLOTTING.search(source) and len(lines) > MAX_VISIBLE_PLOT_LINES and not folded
                and not defines_widget):
            problems.append(f"cell {index}: {len(lines)} lines of plotting code, not folded")
        problems += [f"cell {index}: fontsize={m.group(1)}" for m in SMALL_FONT.finditer(source)
                     if float(m.group(1)) < viz.MIN_FONT_PT]
        problems += [f"cell {index}: {m.group(0)}" for m in THIN_LINE.finditer(source)
                     if float(m.group(1)) < viz.MIN_LINE_PT]
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figure_code_has_no_small_text_or_thin_lines(path):
    problems = figure_code_problems(path)
    if problems and not migrated(path):
        pytest.xfail(f"not yet migrated (second wave): {'; '.join(problems)}")
    assert not problems, f"{path.name}: " + "; ".join(problems)


def test_not_yet_migrated_names_notebooks():
    assert all(re.fullmatch(r"\d\d", number) for number in NOT_YET_MIGRATED)


def test_an_overlay_of_another_shape_is_refused_not_drawn_shifted():
    """A mask from another case or another crop was drawn anyway: cut or shifted, with no sign of it."""
    image = np.random.default_rng(0).random((40, 40, 6)).astype(np.float32)
    truth = image > 0.5
    with pytest.raises(ValueError, match=r"contour 'truth' has shape \(30, 40, 6\), the image \(40, 40, 6\)"):
        viz.show_slice(image, 2, contours={"truth": truth[:30]})
    with pytest.raises(ValueError, match=r"mask 'unet' has shape \(40, 40, 3\)"):
        viz.show_slice(image, 2, masks={"unet": truth[:, :, :3]})
    with pytest.raises(ValueError, match="contour 'truth'"):
        viz.show_sagittal(image, 20, contours={"truth": truth[:, :20]})
    with pytest.raises(IndexError, match="sagittal slice 40 is outside the volume's 40 columns"):
        viz.show_sagittal(image, 40)
    viz.show_slice(truth, 2, contours={"truth": truth})     # a mask shown as an image: 0/1, not a numpy TypeError
    plt.close("all")
