"""Every segmentation method on the same cases: Dice, HD95, volume error, time (layer 5).

Used by notebook 09 and by ``make bench`` (``tools/bench.py``). A method is
run only through its common entry point
``medseg_edu.methods.get(name).segment(image, spacing)``, so every method
is measured the same way. The ellipsoid formula enters as a *volume-only*
row: it gives a volume but no mask, so it has no Dice or HD95.

One result row (a ``dict``) per method and case, with the keys of
:data:`FIELDS`; :func:`summarise` turns rows into one line per method.
"""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

import numpy as np

from . import methods as _methods
from . import metrics, volumetry
from ._bundled import bundled

__all__ = ["FIELDS", "ELLIPSOID", "run_case", "score_row", "ellipsoid_row", "run", "summarise", "ranking",
           "markdown_table", "write_csv", "read_csv", "BENCHMARK_DIR", "bench_results",
           "evaluate_on_labelled", "case_table", "BENCH_KEYS", "differences_from_bench", "per_case",
           "compare_pairs"]

#: Where ``make bench`` keeps its full table (``results.csv``) and report (``RESULTS.md``).
BENCHMARK_DIR = bundled("benchmarks")

#: Columns of a per-case result row (CSV header of benchmarks/results.csv).
FIELDS = ("method", "case", "spacing_mm", "seconds", "dice", "hd95_mm", "true_ml", "volume_ml",
          "volume_error_percent")
#: Name of the volume-only row: ellipsoid formula on diameters measured from the true mask.
ELLIPSOID = "ellipsoid"


def _truth(case):
    gland = getattr(case, "gland", None)
    if gland is None:
        gland = np.asarray(case.labels) > 0
    return np.asarray(gland, bool)


def run_case(name: str, case, **params) -> dict:
    """Segment one case with method ``name`` and score it against the case's truth.

    Parameters
    ----------
    name : str
        A method of :data:`medseg_edu.methods.METHODS`.
    case : Case
        Needs ``image`` (x, y, z), ``spacing`` (mm), ``labels`` or ``gland``
        and ``name``.
    **params
        Passed to the method's ``segment``.

    Returns
    -------
    dict
        Keys :data:`FIELDS`: ``seconds`` (wall time of ``segment``, s),
        ``dice``, ``hd95_mm`` (mm; ``inf`` if the mask is empty),
        ``true_ml`` and ``volume_ml`` (mL), ``volume_error_percent``
        (signed, % of the true volume).
    """
    module = _methods.get(name)
    start = time.perf_counter()
    mask = module.segment(case.image, case.spacing, **params)
    seconds = time.perf_counter() - start
    return score_row(name, case.name, mask, _truth(case), case.spacing, seconds)


def score_row(method: str, case_name: str, mask, truth, spacing, seconds: float) -> dict:
    """Score one mask against the truth: the result row of :func:`run_case`.

    Parameters
    ----------
    method, case_name : str
    mask, truth : numpy.ndarray
        Same shape (x, y, z); bool or labels (``> 0`` is foreground).
    spacing : sequence of 3 float
        Voxel size in mm.
    seconds : float
        Time the method took (s).

    Returns
    -------
    dict
        Keys :data:`FIELDS`; volumes in mL, HD95 in mm (``inf`` if exactly
        one mask is empty), volume error in % of the true volume.
    """
    mask, truth = np.asarray(mask), np.asarray(truth)
    if mask.shape != truth.shape:
        raise ValueError(f"method {method!r} returned a mask of shape {mask.shape} for an image of "
                         f"shape {truth.shape}; segment() must keep the image's shape")
    true_ml = volumetry.volume_ml(truth, spacing)
    measured = volumetry.volume_ml(mask, spacing)
    return {
        "method": method, "case": case_name, "spacing_mm": "x".join(f"{float(s):g}" for s in spacing),
        "seconds": float(seconds), "dice": metrics.dice(mask, truth),
        "hd95_mm": metrics.hausdorff95(mask, truth, spacing),
        "true_ml": true_ml, "volume_ml": measured,
        "volume_error_percent": volumetry.volume_error_percent(true_ml, measured),
    }


def ellipsoid_row(case) -> dict:
    """Volume-only row: ellipsoid formula on diameters measured from the true mask.

    The diameters are perfect (no calliper error), so the row isolates the
    error of the shape assumption itself. ``dice`` and ``hd95_mm`` are NaN.
    """
    truth = _truth(case)
    start = time.perf_counter()
    measured = volumetry.ellipsoid_volume_ml(truth, case.spacing)
    seconds = time.perf_counter() - start
    true_ml = volumetry.volume_ml(truth, case.spacing)
    return {
        "method": ELLIPSOID, "case": case.name, "spacing_mm": "x".join(f"{s:g}" for s in case.spacing),
        "seconds": seconds, "dice": math.nan, "hd95_mm": math.nan, "true_ml": true_ml,
        "volume_ml": measured, "volume_error_percent": volumetry.volume_error_percent(true_ml, measured),
    }


def run(cases, method_names=None, *, ellipsoid=True, params=None, limits=None, log=None,
        on_case=None) -> list[dict]:
    """Run methods on cases; case by case, so each case is generated only once.

    Parameters
    ----------
    cases : sequence of Case
    method_names : sequence of str, optional
        Default: every method of :data:`medseg_edu.methods.METHODS`.
    ellipsoid : bool
        Also add the volume-only ellipsoid row per case.
    params : dict of str -> dict, optional
        Extra keyword arguments per method name.
    limits : dict of str -> int, optional
        Run method ``name`` on the first ``limits[name]`` cases only (for
        the slow ones); the others run on every case.
    log : callable, optional
        Called with one progress line per method and case (e.g. ``print``).
    on_case : callable, optional
        Called with the rows so far after each case (e.g. to save them, so
        an interrupted long run keeps its results).

    Returns
    -------
    list of dict
        One row per (case, method), see :func:`run_case`.
    """
    names = tuple(method_names) if method_names is not None else _methods.METHODS
    for name in names:
        _methods.get(name)  # fail early on a typo, before any long run
    params, limits = params or {}, limits or {}
    rows = []
    for index, case in enumerate(cases):
        for name in names:
            if index >= limits.get(name, math.inf):
                continue
            row = run_case(name, case, **params.get(name, {}))
            rows.append(row)
            if log:
                log(f"{case.name} {name:10s} Dice {row['dice']:.3f} volume error "
                    f"{row['volume_error_percent']:+6.1f} % ({row['seconds']:.1f} s)")
        if ellipsoid:
            rows.append(ellipsoid_row(case))
        if on_case:
            on_case(rows)
    return rows


def evaluate_on_labelled(cases, method_names=("unet", "fcn", "dilated", "atlas"), *, models=None,
                         ellipsoid=False, **kw) -> list[dict]:
    """Score methods - and networks you trained - on cases that carry expert labels.

    :func:`run` with two guards and one addition for real data: every case
    must have a non-empty label map (an MSD *test* case, whose
    ``meta["has_labels"]`` is False, is refused by name before anything runs),
    and ``models`` adds rows for your own networks next to the bundled ones.

    Parameters
    ----------
    cases : sequence of Case
        E.g. ``load_msd_prostate(fetch_msd_prostate(), "train", cases=range(4))``,
        or phantoms.
    method_names : sequence of str
        Methods of :data:`medseg_edu.methods.METHODS` (the deep ones use
        their bundled weights). Default: the three grid networks and the atlas.
    models : dict of str -> torch.nn.Module, optional
        More rows: ``{"unet fine-tuned": model}`` segments every case with
        that network through the ``segment`` of the method of its
        architecture (``methods.unet.segment(..., model=model)``), exactly as
        the bundled one is run, under the row name given.
    ellipsoid : bool
        Also add the volume-only ellipsoid row per case (default False).
    **kw
        Passed to :func:`run` (``params``, ``limits``, ``log``, ``on_case``).

    Returns
    -------
    list of dict
        One row per (case, method), keys :data:`FIELDS`, as :func:`run_case`
        gives them: ``dice`` in [0, 1], ``volume_error_percent`` signed (%).
        Print them with :func:`case_table`, or summarise them with
        :func:`summarise`.
    """
    cases = list(cases)
    if not cases:
        raise ValueError("evaluate_on_labelled needs at least one case")
    for case in cases:
        meta = getattr(case, "meta", None) or {}
        if meta.get("has_labels", True) is False:
            raise ValueError(f"case {case.name!r} has no expert labels (an MSD test-split case?): load "
                             f"labelled cases with load_msd_prostate(root, 'train')")
        if not _truth(case).any():
            raise ValueError(f"case {case.name!r} has an empty label map: nothing to score against")
    names = _methods.METHODS if method_names is None else tuple(method_names)
    models = dict(models or {})
    clash = set(models) & set(names)
    if clash:
        raise ValueError(f"models {sorted(clash)} have the names of bundled methods; call them e.g. "
                         f"'{sorted(clash)[0]} fine-tuned' so the rows can be told apart")
    kinds = {label: _network_kind(label, model) for label, model in models.items()}
    rows = run(cases, names, ellipsoid=ellipsoid, **kw) if names or ellipsoid else []
    for case in cases:
        for label, model in models.items():
            # the method's own segment(), so the row is made exactly like the bundled network's
            row = run_case(kinds[label], case, model=model)
            row["method"] = label
            rows.append(row)
    return rows


def _network_kind(label, model) -> str:
    """The deep method (``"unet"``, ...) whose architecture ``model`` has."""
    from . import weights

    for exact in (True, False):
        for name, recipe in weights.RECIPES.items():
            if (type(model) is recipe.architecture) if exact else isinstance(model, recipe.architecture):
                return name
    kinds = ", ".join(r.architecture.__name__ for r in weights.RECIPES.values())
    raise ValueError(f"models[{label!r}] is a {type(model).__name__}, not one of the course networks ({kinds})")


def case_table(rows) -> str:
    """Per-case rows as a Markdown table: case, method, Dice, true and measured volume, volume error.

    One line per row of :func:`run` or :func:`evaluate_on_labelled`, sorted
    by case then method (in the order the methods first appear). No timings,
    so the same results print the same text on every machine. Volume-only
    rows (the ellipsoid) show "–" for Dice.
    """
    order = {name: i for i, name in enumerate(dict.fromkeys(r["method"] for r in rows))}
    lines = ["| case | method | Dice | true mL | measured mL | volume error % |",
             "|---|---|---:|---:|---:|---:|"]
    for r in sorted(rows, key=lambda r: (str(r["case"]), order[r["method"]])):
        lines.append(f"| {r['case']} | {r['method']} | {_fmt(float(r['dice']), '.3f')} | "
                     f"{_fmt(float(r['true_ml']), '.1f')} | {_fmt(float(r['volume_ml']), '.1f')} | "
                     f"{_fmt(float(r['volume_error_percent']), '+.1f')} |")
    return "\n".join(lines) + "\n"


def _mean_sd(values):
    values = np.asarray([v for v in values if np.isfinite(v)], float)
    if values.size == 0:
        return math.nan, math.nan
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0


def summarise(rows) -> list[dict]:
    """One summary per method, in the order the methods first appear.

    Returns
    -------
    list of dict
        ``method``, ``cases``, ``dice_mean``, ``dice_sd``, ``hd95_mean``,
        ``hd95_sd`` (mm; over cases with a non-empty mask), ``empty`` (cases
        where the method returned an empty mask), ``abs_volume_error_median``
        and ``volume_error_mean`` (%), ``seconds_per_case`` (mean, s).
    """
    order = list(dict.fromkeys(r["method"] for r in rows))
    out = []
    for name in order:
        own = [r for r in rows if r["method"] == name]
        dice_mean, dice_sd = _mean_sd([float(r["dice"]) for r in own])
        hd = [float(r["hd95_mm"]) for r in own]
        hd_mean, hd_sd = _mean_sd(hd)
        err = np.array([float(r["volume_error_percent"]) for r in own])
        out.append({
            "method": name, "cases": len(own), "dice_mean": dice_mean, "dice_sd": dice_sd,
            "hd95_mean": hd_mean, "hd95_sd": hd_sd, "empty": int(sum(math.isinf(h) for h in hd)),
            "abs_volume_error_median": float(np.median(np.abs(err))),
            "volume_error_mean": float(err.mean()),
            "seconds_per_case": float(np.mean([float(r["seconds"]) for r in own])),
        })
    return out


def per_case(rows, key: str, methods=None) -> dict[str, np.ndarray]:
    """One array of ``key`` per method, over the cases every one of those methods ran on, in one order.

    Parameters
    ----------
    rows : list of dict
        Result rows (:data:`FIELDS`), e.g. from :func:`bench_results`.
    key : str
        The column to collect: ``"dice"``, ``"hd95_mm"``, ``"true_ml"``, ``"volume_ml"``,
        ``"volume_error_percent"`` or ``"seconds"``.
    methods : sequence of str, optional
        The methods to collect (default: every method of ``rows`` that ran on every
        case of the table, so a method run on a few cases only - the patch CNN of the
        bench - does not shrink the others to those cases).

    Returns
    -------
    dict
        ``{method: numpy array}``, element ``i`` of every array belonging to the same case
        (cases sorted by name), so that two arrays can be compared pair by pair.

    Raises
    ------
    ValueError
        If ``key`` is not a column, a named method has no rows, or the methods share no case.
    """
    if key not in FIELDS:
        raise ValueError(f"key must be one of {FIELDS}, got {key!r}")
    table: dict[str, dict[str, float]] = {}
    for r in rows:
        table.setdefault(r["method"], {})[r["case"]] = float(r[key])
    all_cases = set().union(*table.values()) if table else set()
    if methods is None:
        methods = [m for m in table if set(table[m]) == all_cases]
    missing = [m for m in methods if m not in table]
    if missing:
        raise ValueError(f"no rows for method(s) {missing}; the rows hold {sorted(table)}")
    shared = sorted(set.intersection(*(set(table[m]) for m in methods))) if methods else []
    if not shared:
        raise ValueError(f"the methods {list(methods)} share no case")
    return {m: np.array([table[m][c] for c in shared]) for m in methods}


def compare_pairs(rows, pairs, key: str = "dice", **kwargs) -> dict[str, "object"]:
    """Paired differences with bootstrap intervals for pairs of methods on their shared cases.

    ``pairs`` is a sequence of ``(a, b)`` method names; the result maps ``"a − b"`` to
    :func:`medseg_edu.agreement.paired_difference` of ``key`` (keyword arguments go to it).
    """
    from . import agreement

    out = {}
    for a, b in pairs:
        scores = per_case(rows, key, (a, b))
        out[f"{a} − {b}"] = agreement.paired_difference(scores[a], scores[b], **kwargs)
    return out


def ranking(summary) -> list[tuple[str, float]]:
    """``(method, mean Dice)`` pairs, best first; volume-only rows are left out.

    Sorted on the unrounded mean Dice, so a ranking printed at any number of
    decimals never lists a lower Dice above a higher one (rounding keeps the
    order). Only exactly equal means keep the teaching order of
    :data:`medseg_edu.methods.METHODS`.

    Parameters
    ----------
    summary : list of dict
        Rows of :func:`summarise` (keys ``method`` and ``dice_mean``, a Dice in 0-1;
        NaN for a volume-only method).

    Returns
    -------
    list of (str, float)
        The method names with their mean Dice, highest Dice first.
    """
    order = {name: i for i, name in enumerate(_methods.METHODS)}
    scored = [(s["method"], s["dice_mean"]) for s in summary if np.isfinite(s["dice_mean"])]
    return sorted(scored, key=lambda m: (-m[1], order.get(m[0], len(order))))


def _fmt(value, spec, sd=None):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = format(value, spec)
    if sd is not None and np.isfinite(sd):
        text += " ± " + format(sd, spec)
    return text


def markdown_table(summary) -> str:
    """The summary as a Markdown table (one line per method)."""
    lines = ["| method | cases | Dice (mean ± SD) | HD95 mm (mean ± SD) | median abs. volume error % "
             "| mean volume error % | seconds per case |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for s in summary:
        hd = _fmt(s["hd95_mean"], ".1f", s["hd95_sd"])
        if s.get("empty"):
            hd += f" ({s['empty']} empty)"
        lines.append(
            f"| {s['method']} | {s['cases']} | {_fmt(s['dice_mean'], '.3f', s['dice_sd'])} | {hd} | "
            f"{_fmt(s['abs_volume_error_median'], '.1f')} | {_fmt(s['volume_error_mean'], '+.1f')} | "
            f"{_fmt(s['seconds_per_case'], '.2g' if s['seconds_per_case'] < 0.1 else '.1f')} |")
    return "\n".join(lines) + "\n"


def write_csv(rows, path) -> Path:
    """Write per-case rows to ``path`` (CSV with header :data:`FIELDS`); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return path


def read_csv(path) -> list[dict]:
    """Read rows written by :func:`write_csv`; numeric columns come back as floats."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no results at {path}: run `make bench` to create them")
    rows = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            for key in ("seconds", "dice", "hd95_mm", "true_ml", "volume_ml", "volume_error_percent"):
                row[key] = float(row[key]) if row.get(key) not in (None, "") else math.nan
            rows.append(row)
    return rows


def bench_results(folder=BENCHMARK_DIR) -> tuple[list[dict], str]:
    """The rows of the last ``make bench`` and the line of its report that names the machine.

    Returns
    -------
    rows : list of dict
        As :func:`read_csv` gives them.
    machine : str
        The ``Machine: ...`` line of ``RESULTS.md`` (empty if there is none).
    """
    folder = Path(folder)
    rows = read_csv(folder / "results.csv")
    report = folder / "RESULTS.md"
    lines = report.read_text().splitlines() if report.exists() else []
    return rows, next((line for line in lines if line.startswith("Machine:")), "")


#: What :func:`differences_from_bench` compares, with the unit of the difference.
BENCH_KEYS = {"dice": "", "hd95_mm": "mm", "volume_error_percent": "percentage points"}


def differences_from_bench(rows, bench_rows) -> dict[str, dict[str, float]]:
    """How far fresh result rows lie from the stored ``make bench`` rows of the same method and case.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`run_case` / :func:`score_row` for whole cases (a method run on part of a
        case, like notebook 09's patch CNN, must be left out: the bench scored the whole case).
    bench_rows : list of dict
        The stored rows, e.g. the first value of :func:`bench_results`.

    Returns
    -------
    dict
        Per method (of ``rows`` that the bench has for the same case), per key of
        :data:`BENCH_KEYS`: the largest absolute difference over its cases (Dice; HD95 in mm;
        volume error in percentage points). Two NaNs (the ellipsoid's Dice) or two infinities
        (an empty mask's HD95) count as equal.

    Raises
    ------
    ValueError
        If no row has a stored counterpart: then nothing was compared.
    """
    stored = {(r["method"], r["case"]): r for r in bench_rows}
    out: dict[str, dict[str, float]] = {}
    for row in rows:
        old = stored.get((row["method"], row["case"]))
        if old is None:
            continue
        seen = out.setdefault(row["method"], dict.fromkeys(BENCH_KEYS, 0.0))
        for key in BENCH_KEYS:
            new_value, old_value = float(row[key]), float(old[key])
            if new_value == old_value or (math.isnan(new_value) and math.isnan(old_value)):
                continue
            nan_on_one_side = math.isnan(new_value) or math.isnan(old_value)
            seen[key] = max(seen[key], math.inf if nan_on_one_side else abs(new_value - old_value))
    if not out:
        raise ValueError("none of the rows has a stored bench row for the same method and case")
    return out
