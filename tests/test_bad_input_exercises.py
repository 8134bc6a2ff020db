"""Exercise checkers judge what an answer returns (issue 21, kind 5).

Every registered checker, run through ``exercises.check``:

* passes the published solution even when it scribbles over its inputs after
  computing its result (the checker's inputs and expected answers are its own);
* tells a function that forgot ``return`` "your function returned None";
* tells a learner who passed a result instead of the function what to pass;
* never passes NaN (25 of the 39 exercises return a float the test can turn to NaN).
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest

from medseg_edu import exercises

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_exercise_solutions import NOTEBOOKS, find_exercises  # noqa: E402

ALL = exercises.known_exercises()


def _solutions() -> dict:
    """Exercise id -> the published solution function (from the notebooks)."""
    found = {}
    for path in NOTEBOOKS:
        for ex in find_exercises(path):
            if ex.get("solution"):
                namespace: dict = {"__name__": "__solution__"}
                exec(compile(ex["solution"], f"<solution {ex['id']}>", "exec"), namespace)
                found[ex["id"]] = namespace[ex["function"]]
    return found


SOLUTIONS = _solutions()


def _scribble(value) -> None:
    """Overwrite an argument in place, as a careless answer might."""
    torch = sys.modules.get("torch")
    if isinstance(value, np.ndarray) and value.flags.writeable:
        if value.dtype == bool:
            np.logical_not(value, out=value)
        else:
            value[...] = 7
    elif torch is not None and isinstance(value, torch.Tensor):
        with torch.no_grad():
            value.fill_(7.0)
    elif isinstance(value, list):
        for item in value:
            _scribble(item)
        value.reverse()
    elif isinstance(value, dict):
        for item in value.values():
            _scribble(item)
        value["scribbled"] = [0.0]


def _careless(solution):
    """The solution, followed by in-place damage to every argument it was given."""
    def answer(*args, **kwargs):
        result = copy.deepcopy(solution(*args, **kwargs))
        for value in (*args, *kwargs.values()):
            _scribble(value)
        return result
    return answer


def test_every_checker_has_a_published_solution():
    assert set(ALL) <= set(SOLUTIONS), f"no solution found for {sorted(set(ALL) - set(SOLUTIONS))}"


@pytest.mark.parametrize("exercise_id", ALL)
def test_an_answer_that_changes_its_inputs_is_judged_on_its_result(exercise_id):
    verdict = exercises.check(exercise_id, _careless(SOLUTIONS[exercise_id]), quiet=True)
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("exercise_id", ALL)
def test_a_function_without_return_is_told_so(exercise_id):
    def forgot_return(*args, **kwargs):
        SOLUTIONS[exercise_id](*args, **kwargs)   # computes the answer, then drops it
    verdict = exercises.check(exercise_id, forgot_return, quiet=True)
    assert not verdict.passed
    assert verdict.message == f"[{exercise_id}] not yet: {exercises.RETURNED_NONE}"
    assert "your function returned None" in verdict.message


@pytest.mark.parametrize("exercise_id", ALL)
def test_passing_a_result_instead_of_the_function(exercise_id):
    verdict = exercises.check(exercise_id, 0.5, quiet=True)
    assert not verdict.passed and "pass the function itself" in verdict.message


def test_none_is_still_an_answer_where_the_exercise_asks_for_it():
    solution = SOLUTIONS["09.fastest_good_enough"]
    assert exercises.check("09.fastest_good_enough", solution, quiet=True).passed

    def never_none(summary, min_dice):
        return solution(summary, min_dice) or "unet"
    verdict = exercises.check("09.fastest_good_enough", never_none, quiet=True)
    assert not verdict.passed and "returned None" not in verdict.message and "return None" in verdict.message


def test_the_checker_sees_the_original_inputs_not_the_answers_copy():
    seen = []

    def keeps_a_reference(mask, spacing):
        seen.append(mask)
        return SOLUTIONS["00.mask_volume"](mask, spacing)
    assert exercises.check("00.mask_volume", keeps_a_reference, quiet=True).passed
    assert len(seen) > 1 and all(a is not b for a, b in zip(seen, seen[1:]))


def _nan_like(value):
    """``value`` with every floating-point number replaced by NaN (ints, bools and strings kept)."""
    if isinstance(value, (float, np.floating)):
        return float("nan")
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return np.full_like(value, np.nan)
    if isinstance(value, (list, tuple)):
        return type(value)(_nan_like(v) for v in value)
    if isinstance(value, dict):
        return {k: _nan_like(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("exercise_id", ALL)
def test_nan_is_never_judged_correct(exercise_id):
    """NaN compares False with everything, so ``abs(got - expected) > tol`` lets it through.

    A learner's 0 / 0 (an empty class, an empty mask) gives NaN. Two answers must fail: a bare NaN,
    and the published solution's result with every float in it turned to NaN (where it holds one).
    """
    verdict = exercises.check(exercise_id, lambda *args, **kwargs: float("nan"), quiet=True)
    assert not verdict.passed, verdict.message
    results = []

    def solution_as_nan(*args, **kwargs):
        results.append(SOLUTIONS[exercise_id](*args, **kwargs))
        return _nan_like(results[-1])

    verdict = exercises.check(exercise_id, solution_as_nan, quiet=True)
    if any(_has_float(r) for r in results):     # a mask or a category holds no float to turn to NaN
        assert not verdict.passed, verdict.message


def _has_float(value) -> bool:
    if isinstance(value, (float, np.floating)):
        return True
    if isinstance(value, np.ndarray):
        return np.issubdtype(value.dtype, np.floating)
    if isinstance(value, (list, tuple)):
        return any(_has_float(v) for v in value)
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    return False
