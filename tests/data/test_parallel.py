"""data.parallel.on_every_core: the plain loop's results, in its order, on every core."""

import numpy as np

from medseg_edu.data.parallel import on_every_core
from medseg_edu.data.phantom import prostate_phantom


def _volume(seed):
    return prostate_phantom(seed, shape=(48, 48, 8)).gland_volume_ml


def test_the_results_are_the_loops_in_its_order():
    seeds = [5, 1, 4, 2, 3]
    assert on_every_core(_volume, seeds) == [_volume(s) for s in seeds]
    assert on_every_core(abs, [-3]) == [3] and on_every_core(abs, []) == []
    assert np.all(np.diff(on_every_core(abs, range(-40, 0))) == -1)
