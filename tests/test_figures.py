"""Stored figures are readable on a classroom projector and in print.

Reads every PNG stored in the executed notebooks: at least 100 dpi, 700 px
wide (a typical figure is 800-1100 px), 300 px tall, and each notebook under
3 MB. The viz defaults that give those sizes (11 pt text, 10 pt legends,
distinct method colours) are checked directly.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import matplotlib
import pytest
from PIL import Image

matplotlib.use("Agg")

from medseg_edu import viz  # noqa: E402

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MIN_DPI, MIN_WIDTH_PX, MAX_WIDTH_PX, MIN_HEIGHT_PX = 100, 700, 1800, 300
MAX_NOTEBOOK_MB = 3.0


def stored_pngs(path):
    """(cell number, PIL image) of every PNG output stored in a notebook."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for number, cell in enumerate(notebook["cells"]):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                yield number, Image.open(io.BytesIO(base64.b64decode(data["image/png"])))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_figures_are_projector_sized(path):
    problems = []
    for number, image in stored_pngs(path):
        width, height = image.size
        dpi = image.info.get("dpi", (0, 0))[0]
        if round(dpi) < MIN_DPI:
            problems.append(f"cell {number}: stored at {dpi:.0f} dpi (< {MIN_DPI})")
        if not MIN_WIDTH_PX <= width <= MAX_WIDTH_PX:
            problems.append(f"cell {number}: {width} px wide (want {MIN_WIDTH_PX}-{MAX_WIDTH_PX})")
        if height < MIN_HEIGHT_PX:
            problems.append(f"cell {number}: {height} px tall (< {MIN_HEIGHT_PX})")
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_stays_small_in_git(path):
    assert path.stat().st_size / 1e6 < MAX_NOTEBOOK_MB, f"{path.name} is over {MAX_NOTEBOOK_MB} MB"


def test_setup_gives_projector_text_sizes():
    viz.setup()
    rc = matplotlib.rcParams
    assert rc["figure.dpi"] >= MIN_DPI and rc["savefig.dpi"] >= MIN_DPI
    assert rc["font.size"] >= 11 and rc["legend.fontsize"] >= 10 and rc["xtick.labelsize"] >= 10


def test_every_method_has_its_own_colour_never_the_truths():
    colours = list(viz.METHOD_COLORS.values())
    assert len(set(colours)) == len(colours)
    assert viz.COLORS["truth"] not in colours


def test_default_single_slice_and_rows_are_large_enough():
    import matplotlib.pyplot as plt
    import numpy as np

    viz.setup()
    image = np.random.default_rng(0).random((64, 64, 3))
    ax = viz.show_slice(image, 1, spacing=(1.0, 1.0, 3.0), contours={"truth": image > 0.5})
    width, height = ax.figure.get_size_inches() * ax.figure.dpi
    assert width >= MIN_WIDTH_PX and height >= MIN_WIDTH_PX
    letters = {t.get_text() for t in ax.texts}
    assert {"L", "R", "A", "P"} <= letters
    plt.close(ax.figure)
    for ncols in (1, 2, 3, 4, 6):
        assert viz.panel_inches(ncols) * viz.DPI >= MIN_HEIGHT_PX
        assert viz.panel_inches(ncols) * ncols * viz.DPI >= MIN_WIDTH_PX


def test_orientation_letters_reject_unknown_view():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="view must be one of"):
        viz.orientation_letters(ax, "oblique")
    plt.close(ax.figure)


def test_the_showdown_spread_plot_is_linear_within_the_range_notebook_09_states():
    """Notebook 09 tells learners the volume-error axis is linear within +-2 % (its prose_constants
    declare the 2); matplotlib's default linthresh could change under it, so the plot sets it."""
    nb = json.loads((NOTEBOOKS[0].parent / "09_showdown.ipynb").read_text(encoding="utf-8"))
    assert "2" in nb["metadata"]["medseg_edu"]["prose_constants"]
    rows = [{"method": m, "dice": 0.9, "volume_error_percent": e, "seconds": 1.0}
            for m, e in (("unet", 1.0), ("threshold", 2500.0))]
    fig = viz.method_spread(rows, ["unet", "threshold"])
    assert fig.axes[1].get_yscale() == "symlog"
    assert fig.axes[1].yaxis.get_transform().linthresh == 2.0
    import matplotlib.pyplot as plt
    plt.close(fig)
