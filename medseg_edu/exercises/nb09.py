"""Checkers for notebook 09 (showdown)."""

from __future__ import annotations

from . import ExerciseFailed, exercise


@exercise("09.rank_by_dice")
def _rank_by_dice(rank_by_dice):
    scores = {"threshold": [0.21, 0.15, 0.30], "unet": [0.93, 0.95, 0.91], "atlas": [0.90, 0.96, 0.86],
              "fcn": [0.88, 0.90, 0.89]}
    expected = ["unet", "atlas", "fcn", "threshold"]  # means 0.930, 0.907, 0.890, 0.220
    got = rank_by_dice(scores)
    if got is None:
        raise ExerciseFailed("return the list of method names")
    got = list(got)
    if got == expected[::-1]:
        raise ExerciseFailed("best first, please: sort by mean Dice in descending order")
    if got == ["atlas", "unet", "fcn", "threshold"]:
        raise ExerciseFailed("that is the order of the best single case; rank by the MEAN Dice over the cases")
    if got != expected:
        raise ExerciseFailed(f"expected {expected} (mean Dice 0.93, 0.91, 0.89, 0.22), got {got}")
    got = list(rank_by_dice({"b": [0.5], "a": [0.7, 0.9]}))
    if got != ["a", "b"]:
        raise ExerciseFailed(f"methods may have different numbers of cases; expected ['a', 'b'], got {got}")
    return "mean Dice, best first."


@exercise("09.fastest_good_enough", none_is_an_answer=True)
def _fastest_good_enough(fastest_good_enough):
    summary = [
        {"method": "threshold", "dice_mean": 0.20, "seconds_per_case": 0.5},
        {"method": "atlas", "dice_mean": 0.91, "seconds_per_case": 45.0},
        {"method": "patch_cnn", "dice_mean": 0.86, "seconds_per_case": 30.0},
        {"method": "fcn", "dice_mean": 0.88, "seconds_per_case": 0.9},
        {"method": "unet", "dice_mean": 0.93, "seconds_per_case": 1.1},
        {"method": "ellipsoid", "dice_mean": float("nan"), "seconds_per_case": 0.001},
    ]
    for min_dice, expected in ((0.85, "fcn"), (0.9, "unet"), (0.1, "threshold"), (0.95, None)):
        got = fastest_good_enough(summary, min_dice)
        if got != expected:
            hint = ""
            if got == "ellipsoid":
                hint = " (the ellipsoid has no Dice - NaN - so it can never qualify)"
            elif expected is None:
                hint = " (no method reaches it: return None)"
            raise ExerciseFailed(f"with min_dice={min_dice} expected {expected!r}, got {got!r}{hint}")
    return "the right method is the cheapest one that is good enough for the question."
