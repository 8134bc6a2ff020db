"""Which notebooks already follow the teaching-v3 rules (issue 24), shared by the tests that check them.

The rules: numbers in prose are tagged or cited (tests/test_prose_numbers.py), and the
figure code draws no text under 10 pt and no data line under 1.5 pt
(tests/test_viz_display.py). The first wave migrated 00-03 and 11; the second wave
(after the bundled networks are retrained) migrates the notebooks listed here and
empties the set. A notebook not listed is checked in full, so a migrated notebook that
regresses fails; a listed notebook that already passes fails too ("remove it from the
list"), so the list only shrinks.
"""

NOT_YET_MIGRATED = frozenset()  # both waves done: every notebook follows the v3 rules


def migrated(path) -> bool:
    """True when the notebook at ``path`` (``NN_name.ipynb``) must follow the v3 rules."""
    return path.name[:2] not in NOT_YET_MIGRATED
