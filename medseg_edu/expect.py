"""Verdicts for results that vary a little between machines (bottom layer: no imports).

A trained network or an optimised registration gives slightly different numbers
on another CPU, thread count or GPU: floating-point sums are added in another
order and training amplifies the difference. A notebook therefore prints its
exact numbers for the reader and, in the cell that tests check, a verdict
against the tolerance the experiment really resolves::

    >>> verdict = expect("Dice after affine registration", 0.884, at_least=0.80)
    Dice after affine registration >= 0.8: yes

The verdict line reads the same on every machine while the result is right,
and turns into ``NO (measured ...)`` when it is wrong, so a broken method still
fails the check.
"""

from __future__ import annotations

import math

__all__ = ["Expectation", "expect"]


class Expectation:
    """A printed verdict: true when it held; shows nothing more in a notebook.

    :func:`expect` returns one; so does an exercise check
    (:func:`medseg_edu.exercises.check`), whose ``passed`` and ``message`` are
    ``held`` and ``line``.
    """

    def __init__(self, held: bool, line: str):
        self.held, self.line = bool(held), line

    passed = property(lambda self: self.held)
    message = property(lambda self: self.line)

    def __bool__(self) -> bool:
        return self.held

    def __repr__(self) -> str:
        return f"{type(self).__name__}(held={self.held}, {self.line!r})"

    def _ipython_display_(self) -> None:  # the printed line is the whole message
        pass


def _number(x) -> str:
    return f"{x:g}"


def expect(what: str, value, *, at_least=None, at_most=None, unit: str = "", quiet: bool = False) -> Expectation:
    """Print whether ``value`` lies within the stated bounds, in words that do not vary.

    Parameters
    ----------
    what : str
        What was measured, e.g. ``"U-Net test Dice"``.
    value : float or bool
        The measurement. A bool with no bounds is a yes/no statement
        (``expect("FCN borders coarser than U-Net's", hd_fcn > hd_unet)``).
    at_least, at_most : float, optional
        Inclusive bounds, in the measurement's own unit.
    unit : str
        Unit printed after the bounds (``"mm"``, ``"mL"``, ``"%"``).
    quiet : bool
        Return the verdict without printing it.

    Returns
    -------
    Expectation
        Truthy when the value met the bounds. A NaN never meets them.

    Raises
    ------
    TypeError
        If ``value`` is neither a number nor a bool, or a bool is given bounds.
    ValueError
        If a number is given no bound, or ``at_least > at_most``.
    """
    suffix = f" {unit}" if unit else ""
    if isinstance(value, bool) or type(value).__name__ in ("bool", "bool_"):  # numpy bools too
        if at_least is not None or at_most is not None:
            raise TypeError(f"expect({what!r}): a yes/no value takes no bounds")
        held, claim, measured = bool(value), what, "false"
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"expect({what!r}): value must be a number or a bool, got {type(value).__name__}") from None
        if at_least is None and at_most is None:
            raise ValueError(f"expect({what!r}): give at_least and/or at_most")
        if at_least is not None and at_most is not None:
            if at_least > at_most:
                raise ValueError(f"expect({what!r}): at_least {at_least} is above at_most {at_most}")
            claim = f"{what} in [{_number(at_least)}, {_number(at_most)}]{suffix}"
        elif at_least is not None:
            claim = f"{what} >= {_number(at_least)}{suffix}"
        else:
            claim = f"{what} <= {_number(at_most)}{suffix}"
        held = (not math.isnan(number) and (at_least is None or number >= at_least)
                and (at_most is None or number <= at_most))
        measured = f"{number:.4g}{suffix}"
    line = f"{claim}: yes" if held else f"{claim}: NO (measured {measured})"
    if not quiet:
        print(line)
    return Expectation(held, line)
