"""Exercise checkers: instant feedback for the learner.

A notebook exercise asks for a function; ``check("NN.name", my_function)``
runs it on the checker's own test inputs and prints a clear verdict. Each
notebook's checkers live in ``medseg_edu/exercises/nbNN.py`` and register
themselves with :func:`exercise`.
"""

from __future__ import annotations

import functools
import importlib
import sys
from typing import Callable

import numpy as np

from ..expect import Expectation

_CHECKERS: dict[str, Callable] = {}
#: Exercises whose answer may legitimately be None on some inputs.
_NONE_ALLOWED: set[str] = set()

RETURNED_NONE = ("your function returned None: it has no `return` statement (or never reaches it). "
                 "End it with `return <your result>`")


class ExerciseFailed(AssertionError):
    """Raised inside a checker to report what is wrong with an answer."""


def exercise(exercise_id: str, *, none_is_an_answer: bool = False):
    """Register ``func(answer)`` as the checker of ``exercise_id``.

    The checker raises :class:`ExerciseFailed` (or ``AssertionError``) with a
    hint when the answer is wrong, and returns an optional success message.
    It receives the learner's function wrapped by :func:`check`: every call
    gets private copies of its arrays (so the checker's own inputs, and the
    expected answers computed from them, never change), and a ``None``
    result fails at once with "your function returned None" - unless
    ``none_is_an_answer`` (the exercise asks for ``None`` in some case).
    """

    def register(checker: Callable) -> Callable:
        _CHECKERS[exercise_id] = checker
        if none_is_an_answer:
            _NONE_ALLOWED.add(exercise_id)
        return checker

    return register


def _private_copy(value):
    """A copy of an argument that the learner's function may change in place without harm."""
    if isinstance(value, np.ndarray):
        return value.copy()
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, list):
        return [_private_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _private_copy(v) for k, v in value.items()}
    if type(value) is tuple:
        return tuple(_private_copy(v) for v in value)
    return value


class _Answer:
    """The learner's function as a checker calls it: on copies, with ``None`` results caught."""

    def __init__(self, function: Callable, none_allowed: bool):
        self.function, self.none_allowed = function, none_allowed
        self.calls = self.nones = 0
        functools.update_wrapper(self, function)

    def __call__(self, *args, **kwargs):
        result = self.function(*(_private_copy(a) for a in args),
                               **{k: _private_copy(v) for k, v in kwargs.items()})
        self.calls += 1
        if result is None:
            self.nones += 1
            if not self.none_allowed:
                raise ExerciseFailed(RETURNED_NONE)
        return result

    @property
    def only_none(self) -> bool:
        """True when the function was called and never returned anything but None."""
        return self.calls > 0 and self.nones == self.calls


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
    error, so the notebook still runs top to bottom. The answer is judged on
    what it returns: it works on copies of the checker's inputs (changing them
    in place does no harm), and a function that returns ``None`` is told so.
    """
    checker = _load_checker(exercise_id)
    if not callable(answer):
        verdict = (f"[{exercise_id}] not yet: pass the function itself, e.g. check({exercise_id!r}, my_function) "
                   f"- without brackets - not what it returns ({type(answer).__name__})")
        if not quiet:
            print(verdict)
        return Verdict(False, verdict)
    wrapped = _Answer(answer, exercise_id in _NONE_ALLOWED)
    try:
        message = checker(wrapped)
    except NotImplementedError:
        verdict, ok = f"[{exercise_id}] not attempted yet - fill in the function and run this cell again.", False
    except AssertionError as failure:  # includes ExerciseFailed
        reason = RETURNED_NONE if wrapped.only_none else failure
        verdict, ok = f"[{exercise_id}] not yet: {reason}", False
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
