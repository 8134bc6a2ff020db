"""Exercise checkers: instant feedback for the learner.

A notebook exercise asks for a function; ``check("NN.name", my_function)``
runs it on the checker's own test inputs and prints a clear verdict. Each
notebook's checkers live in ``medseg_edu/exercises/nbNN.py`` and register
themselves with :func:`exercise`.
"""

from __future__ import annotations

import importlib
from typing import Callable

from ..expect import Expectation

_CHECKERS: dict[str, Callable] = {}


class ExerciseFailed(AssertionError):
    """Raised inside a checker to report what is wrong with an answer."""


def exercise(exercise_id: str):
    """Register ``func(answer)`` as the checker of ``exercise_id``.

    The checker raises :class:`ExerciseFailed` (or ``AssertionError``) with a
    hint when the answer is wrong, and returns an optional success message.
    """

    def register(checker: Callable) -> Callable:
        _CHECKERS[exercise_id] = checker
        return checker

    return register


def _load_checker(exercise_id: str) -> Callable:
    notebook = exercise_id.split(".", 1)[0]
    if exercise_id not in _CHECKERS:
        try:
            importlib.import_module(f"{__name__}.nb{notebook}")
        except ModuleNotFoundError:
            pass
    if exercise_id not in _CHECKERS:
        raise KeyError(f"no exercise called {exercise_id!r}; known: {sorted(_CHECKERS)}")
    return _CHECKERS[exercise_id]


def require_equal(got, expected, what: str, hints=()) -> None:
    """Fail the exercise unless ``got == expected``, naming ``what`` and the likeliest slip.

    ``hints`` are ``(test, text)`` pairs: the first ``test(got)`` that is true adds
    its ``text`` to the message, so a learner learns *why* the answer is off.
    """
    if got == expected:
        return
    hint = next((f" ({text})" for wrong, text in hints if wrong(got)), "")
    raise ExerciseFailed(f"{what} should be {expected}, you gave {got!r}{hint}")


class Verdict(Expectation):
    """The result of :func:`check`: true when the answer passed (``passed``, ``message``)."""


def check(exercise_id: str, answer, *, quiet: bool = False) -> Verdict:
    """Check a learner's answer and print the verdict.

    Returns a :class:`Verdict`, true when the answer passes. An unfinished stub (raising
    ``NotImplementedError``) is reported as "not attempted yet", not as an
    error, so the notebook still runs top to bottom.
    """
    checker = _load_checker(exercise_id)
    try:
        message = checker(answer)
    except NotImplementedError:
        verdict, ok = f"[{exercise_id}] not attempted yet - fill in the function and run this cell again.", False
    except AssertionError as failure:  # includes ExerciseFailed
        verdict, ok = f"[{exercise_id}] not yet: {failure}", False
    except Exception as error:  # the learner's code crashed: say where, not a traceback wall
        verdict, ok = f"[{exercise_id}] your code raised {type(error).__name__}: {error}", False
    else:
        verdict, ok = f"[{exercise_id}] correct! {message or ''}".rstrip(), True
    if not quiet:
        print(verdict)
    return Verdict(ok, verdict)


def known_exercises() -> list[str]:
    """Ids of every registered exercise (imports all checker modules)."""
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("nb"):
            importlib.import_module(f"{__name__}.{module.name}")
    return sorted(_CHECKERS)
