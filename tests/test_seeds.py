"""One rule for every seed and session number: medseg_edu._checks.as_seed.

Before it, `render_mr(seed=-1)` said NumPy's "expected non-negative integer",
`reader_panel(seed="a")` said "invalid literal for int()", and
`reader_panel(seed=1.7)` or `Reader.diameter_mm(session=1.5)` silently used 1.
"""

from __future__ import annotations

import numpy as np
import pytest

from medseg_edu import agreement, data
from medseg_edu._checks import as_seed
from medseg_edu.data import brain, lesions, readers, synth
from medseg_edu.data.datasets import PatchDataset
from medseg_edu.data.pelvis import prostate_phantom_v2, render_t2
from medseg_edu.data.rescan import rescan
from medseg_edu.data.realism import domain_classifier_accuracy
from medseg_edu.methods.interval import volume_interval

BAD = ["a", 1.5, -1, 2 ** 32, True, None]


@pytest.mark.parametrize("good", [0, 7, 2 ** 32 - 1, np.int64(5), np.uint32(3)])
def test_a_whole_number_in_numpys_range_is_a_seed_and_comes_back_a_python_int(good):
    value = as_seed(good)
    assert type(value) is int and value == int(good)


@pytest.mark.parametrize("bad", BAD)
def test_anything_else_is_refused_naming_the_argument_and_what_it_got(bad):
    with pytest.raises(ValueError, match=r"^session \(the scan\) must be a whole number from 0 to 2\*\*32 - 1, got "
                                         + repr(bad).replace("(", r"\(").replace(")", r"\)")):
        as_seed(bad, "session", what="the scan")


_LABELS = np.zeros((12, 12, 4), np.uint8)
_LABELS[3:9, 3:9, 1:3] = 1
_TISSUE = np.zeros((12, 12, 4), np.uint8)


def _reader(**kw):
    return readers.Reader("reader A", **kw)


CALLS = {
    "prostate_phantom": lambda s: data.prostate_phantom(s),
    "prostate_phantom_v2": lambda s: prostate_phantom_v2(s),
    "render_mr": lambda s: data.render_mr(_LABELS, (1, 1, 3), seed=s),
    "render_t2": lambda s: render_t2(_TISSUE, (1, 1, 3), seed=s),
    "render_random": lambda s: synth.render_random(_TISSUE, (1, 1, 3), seed=s),
    "rescan (patient)": lambda s: rescan(s),
    "rescan (session)": lambda s: rescan(0, session=s),
    "lesion": lambda s: lesions.lesion(1.0, seed=s),
    "lymph_node": lambda s: lesions.lymph_node(8.0, seed=s),
    "reader_panel": lambda s: readers.reader_panel(seed=s),
    "Reader": lambda s: _reader(seed=s),
    "Reader.diameter_mm (session)": lambda s: _reader(seed=0).diameter_mm(_LABELS, (1, 1, 3), session=s),
    "Reader.ellipsoid (session)": lambda s: _reader(seed=0).ellipsoid(_LABELS, (1, 1, 3), session=s),
    "paired_difference": lambda s: agreement.paired_difference([1, 2, 3], [1, 2, 4], seed=s),
    "PatchDataset": lambda s: PatchDataset(seed=s),
    "domain_classifier_accuracy": lambda s: domain_classifier_accuracy([np.ones((4, 4, 4))] * 2,
                                                                       [np.ones((4, 4, 4))] * 2, seed=s),
    "volume_interval": lambda s: volume_interval(np.random.default_rng(0).random((32, 32, 8)), (1, 1, 3), seed=s),
}


@pytest.mark.parametrize("bad", [-1, 1.5, "a"])
@pytest.mark.parametrize("where", sorted(CALLS))
def test_every_public_seed_and_session_is_checked_by_the_one_rule(where, bad):
    name = "session" if "session" in where else "seed"
    with pytest.raises(ValueError, match=rf"{name}( \(.*\))? must be a whole number from 0 to 2\*\*32 - 1"):
        CALLS[where](bad)


@pytest.mark.parametrize("bad", [-1, 0.5])
def test_the_brain_functions_check_their_seed_too(bad):
    atlas = data.mni_brain()
    with pytest.raises(ValueError, match="seed must be a whole number"):
        brain.brain_scan(atlas, bad)
    with pytest.raises(ValueError, match="seed must be a whole number"):
        brain.simulate_atrophy(atlas, 1.0, 1.0, seed=bad)
