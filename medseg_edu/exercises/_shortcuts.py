"""Implement-it checkers refuse the library call the learner was asked to write by hand.

An implement-it exercise asks for the step a notebook teaches (Otsu's threshold,
a dilated convolution, one snake step); calling the library function that does
it would pass every numerical test and teach nothing. :func:`refuse_shortcut`
reads the answer's compiled code - the names it uses, in nested functions and
lambdas and in the notebook's own helper functions it calls - and fails the
exercise with a friendly message when a forbidden name or function object
appears. It works on the learner's function as given or wrapped by
:func:`medseg_edu.exercises.check` (anything with ``__wrapped__``).
"""

from __future__ import annotations

import inspect
import types
from typing import Callable, Iterable

from . import ExerciseFailed


def _learner_function(answer):
    """The plain Python function behind a checker's view of the answer (unwrapped)."""
    function = inspect.unwrap(answer)
    function = getattr(function, "function", function)   # a wrapper that keeps the answer as .function
    return inspect.unwrap(function)


def _names_and_objects(function, depth: int = 3, seen=None):
    """Names a function's code uses, and the global objects they refer to (own helpers followed)."""
    seen = set() if seen is None else seen
    code = getattr(function, "__code__", None)
    if code is None or id(code) in seen:
        return set(), []
    seen.add(id(code))
    names, codes = set(), [code]
    while codes:
        current = codes.pop()
        names.update(current.co_names)
        codes.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    global_names = getattr(function, "__globals__", {})
    objects = [global_names[n] for n in names if n in global_names]
    for cell in getattr(function, "__closure__", None) or ():   # names from an enclosing function
        try:
            objects.append(cell.cell_contents)
        except ValueError:    # an empty cell
            pass
    if depth > 0:
        for obj in list(objects):
            # a helper the learner wrote in the notebook (or an enclosing function): look inside it too
            if isinstance(obj, types.FunctionType) and getattr(obj, "__globals__", None) is global_names:
                more_names, more_objects = _names_and_objects(obj, depth - 1, seen)
                names |= more_names
                objects += more_objects
    return names, objects


def uses(answer, names: Iterable[str] = (), objects: Iterable[Callable] = ()) -> str | None:
    """The first forbidden name (or the name of a forbidden object) the answer's code uses, else None."""
    used_names, used_objects = _names_and_objects(_learner_function(answer))
    for name in names:
        if name in used_names:
            return name
    forbidden = list(objects)
    for obj in used_objects:
        for target in forbidden:
            if obj is target:
                return getattr(target, "__name__", repr(target))
    return None


def refuse_shortcut(answer, *, names: Iterable[str] = (), objects: Iterable[Callable] = (), task: str) -> None:
    """Fail the exercise when the answer calls one of the library functions it should replace.

    Parameters
    ----------
    answer : callable
        The learner's function (as the checker received it).
    names : iterable of str
        Function or attribute names that must not appear (e.g. ``"threshold_otsu"``,
        ``"conv2d"``): caught however they are reached (``F.conv2d``, ``from ... import``).
    objects : iterable of callables
        The library functions themselves: caught even under another name.
    task : str
        What to write instead, for the message ("the between-class variance").
    """
    found = uses(answer, names, objects)
    if found:
        raise ExerciseFailed(f"your function calls {found} - that is the library doing the exercise for you. "
                             f"The point here is to write {task} yourself; the library call is what the "
                             "notebook uses everywhere else.")
