"""Small helpers behind notebooks 08-10: the PSA-density flip margin and the SD of a change."""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu import volumetry


def test_flip_margin_lands_exactly_on_the_cut_off():
    psa, volume = np.array([3.0, 6.0, 9.0]), np.array([40.0, 50.0, 45.0])
    margin = volumetry.flip_margin_percent(psa, volume)
    on_cut = volume * (1 + margin / 100)
    assert np.allclose(volumetry.psa_density(psa, on_cut), 0.15)
    assert volumetry.flip_margin_percent(6.0, 50.0) == pytest.approx(-20.0)      # 0.12: needs 20 % less
    assert volumetry.flip_margin_percent(6.0, 40.0) == pytest.approx(0.0)        # already on it
    assert volumetry.flip_margin_percent(9.0, 45.0, cutoff=0.10) == pytest.approx(100.0)


def test_flip_margin_refuses_bad_inputs():
    with pytest.raises(ValueError):
        volumetry.flip_margin_percent(6.0, 0.0)
    with pytest.raises(ValueError):
        volumetry.flip_margin_percent(-1.0, 40.0)
    with pytest.raises(ValueError):
        volumetry.flip_margin_percent(6.0, 40.0, cutoff=0)


def test_difference_sd_matches_simulated_rescans():
    assert volumetry.difference_sd(1.0) == pytest.approx(np.sqrt(2))
    assert volumetry.difference_sd(0.5, n_baseline=8) == pytest.approx(0.5 * np.sqrt(1 + 1 / 8))
    rng = np.random.default_rng(0)
    baseline = rng.normal(0, 1.0, (200_000, 8)).mean(axis=1)        # mean of 8 rescans
    follow_up = rng.normal(0, 1.0, 200_000)                          # one rescan
    assert np.std(follow_up - baseline) == pytest.approx(volumetry.difference_sd(1.0, n_baseline=8), rel=0.01)


@pytest.mark.parametrize("args", [(-1.0, 1, 1), (np.nan, 1, 1), (1.0, 0, 1), (1.0, 1, 2.5)])
def test_difference_sd_refuses_bad_inputs(args):
    with pytest.raises(ValueError):
        volumetry.difference_sd(*args)


def test_flip_margin_figure_names_its_bands_and_the_piled_tail():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from medseg_edu import viz

    cohort = np.array([-50.0, -10.0, 5.0, 30.0, 150.0, 400.0])
    fig, ax = plt.subplots()
    viz.flip_margins(ax, cohort, [-20.0, 40.0], {"A": (-15.0, 20.0, "#CC3311", True),
                                                 "B": (-21.0, 21.0, "#000000", False)})
    labels = ax.get_legend_handles_labels()[1]
    assert labels.count("A: 95 % limits") == 1 and labels.count("B: 95 % limits") == 1
    notes = [t.get_text() for t in ax.texts]
    assert any(note.startswith("2 beyond +100 %") for note in notes), notes
    assert ax.get_xlim()[1] > 100 > ax.get_xlim()[0] + 200
    plt.close(fig)
