"""Agreement and repeatability of measurements (layer 1, numpy and scipy).

One home for the statistics that say how far two measurements of the same
thing may differ:

* :func:`bland_altman` - two methods on the same cases: bias and 95 % limits of
  agreement (Bland & Altman 1986);
* :func:`intraclass_correlation` - several readers or methods: ICC(A,1) or ICC(C,1);
* :func:`repeatability` - one method on repeated scans of the same subjects
  (test-retest): the within-subject SD (wSD), the within-subject coefficient of
  variation (wCV) and the **repeatability coefficient** RC = 1.96 x sqrt(2) x wSD
  = 2.77 x wSD, the smallest difference between two scans of one subject that
  is larger than measurement noise with 95 % confidence (the QIBA metrology
  terms of Raunig et al. 2015);
* :func:`interval_coverage` and :func:`width_factor` - how often intervals hold
  the truth, and how much wider they must be to hold it as often as promised;
* :func:`spread_percent` - several networks (or readers) measuring one case:
  the range of their values as a share of their mean;
* :func:`paired_difference` - two methods scored on the same cases: the mean
  per-case difference with a bootstrap confidence interval (scipy's
  ``stats.bootstrap``), and how often each method wins.

``medseg_edu.volumetry.bland_altman`` and ``medseg_edu.metrics.intraclass_correlation``
are the same functions, kept importable from their first homes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._checks import as_seed

__all__ = ["RC_FACTOR", "BlandAltman", "Coverage", "Repeatability", "bland_altman", "intraclass_correlation",
           "interval_coverage", "PairedDifference", "paired_difference", "repeatability", "repeatability_coefficient", "spread_percent", "width_factor",
           "within_subject_cv", "within_subject_sd"]

#: RC / wSD: the difference of two scans has SD sqrt(2) x wSD, and 95 % of differences lie within 1.96 SD.
RC_FACTOR = 1.96 * math.sqrt(2.0)


def _numbers(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a number or an array of numbers, got {x!r}") from err
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN: {x!r}")
    return arr


# --------------------------------------------------------------------------- two methods, several readers

@dataclass(frozen=True)
class BlandAltman:
    """Result of a Bland-Altman agreement analysis.

    Attributes
    ----------
    bias : float
        Mean difference (measured - reference), in the input unit (e.g. mL)
        or in percent.
    sd : float
        Standard deviation of the differences (``ddof=1``).
    lower, upper : float
        95 % limits of agreement, ``bias -/+ 1.96 * sd``.
    means : numpy.ndarray
        Per-pair mean ``(reference + measured) / 2`` (x axis of the plot).
    differences : numpy.ndarray
        Per-pair difference (y axis of the plot).
    """

    bias: float
    sd: float
    lower: float
    upper: float
    means: np.ndarray
    differences: np.ndarray


def bland_altman(reference, measured, percent: bool = False) -> BlandAltman:
    """Bland-Altman agreement between two measurement methods.

    Parameters
    ----------
    reference : array_like
        Reference values (e.g. segmentation volumes in mL), one per case.
    measured : array_like
        Values from the method under test, same length.
    percent : bool
        If False, differences are ``measured - reference`` (input units).
        If True, ``100 * (measured - reference) / mean_of_pair`` (percent).

    Returns
    -------
    BlandAltman
        Bias, SD (``ddof=1``), limits of agreement ``bias -/+ 1.96 SD``,
        and the per-pair means and differences.

    Raises
    ------
    ValueError
        If the lengths differ, there are fewer than 2 pairs, values are NaN,
        or (``percent=True``) a pair has mean 0.

    Examples
    --------
    >>> ba = bland_altman([10.0, 20.0, 30.0], [11.0, 19.0, 33.0])
    >>> round(ba.bias, 3), round(ba.sd, 3)
    (1.0, 2.0)
    """
    ref = _numbers(reference, "reference").ravel()
    meas = _numbers(measured, "measured").ravel()
    if ref.shape != meas.shape:
        raise ValueError(
            f"reference and measured must have the same length, got {ref.size} and {meas.size}"
        )
    if ref.size < 2:
        raise ValueError(f"bland_altman needs at least 2 pairs, got {ref.size}")
    means = (ref + meas) / 2.0
    diff = meas - ref
    if percent:
        if np.any(means == 0):
            raise ValueError("percent=True needs every pair to have a non-zero mean")
        diff = 100.0 * diff / means
    bias = float(np.mean(diff))
    sd = float(np.std(diff, ddof=1))
    return BlandAltman(
        bias=bias,
        sd=sd,
        lower=bias - 1.96 * sd,
        upper=bias + 1.96 * sd,
        means=means,
        differences=diff,
    )


def intraclass_correlation(ratings, form: str = "agreement") -> float:
    """Intraclass correlation of single measurements (Shrout & Fleiss 1979; McGraw & Wong 1996).

    From a two-way analysis of variance of ``ratings`` (one row per case, one
    column per reader or method): ``MSR`` between cases, ``MSC`` between
    readers, ``MSE`` residual.

    * ``form="agreement"``: ICC(2,1) = ICC(A,1), absolute agreement -
      ``(MSR - MSE) / (MSR + (k - 1) MSE + k (MSC - MSE) / n)``; a reader who
      always measures 2 mm more lowers it.
    * ``form="consistency"``: ICC(3,1) = ICC(C,1) -
      ``(MSR - MSE) / (MSR + (k - 1) MSE)``; a constant offset between readers
      does not count.

    Parameters
    ----------
    ratings : array_like, (n_cases, k_readers)
        At least 2 cases and 2 readers, no NaN.
    form : str
        "agreement" or "consistency".

    Returns
    -------
    float
        At most 1 (perfect agreement); can be negative when readers disagree more
        than the cases differ. ``nan`` if all cases and readers give one value.

    Examples
    --------
    >>> round(intraclass_correlation([[2, 3], [4, 5], [6, 6]]), 6)
    0.9
    >>> round(intraclass_correlation([[2, 3], [4, 5], [6, 6]], form="consistency"), 6)   # 18 / 19
    0.947368
    """
    if form not in ("agreement", "consistency"):
        raise ValueError(f"form must be 'agreement' or 'consistency', got {form!r}")
    try:
        x = np.asarray(ratings, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError("ratings must be a table of numbers (cases x readers)") from err
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"ratings must be a 2D table with >= 2 cases (rows) and >= 2 readers (columns), "
                         f"got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("ratings contain NaN or infinite values")
    n, k = x.shape
    grand = x.mean()
    ms_rows = k * np.sum((x.mean(axis=1) - grand) ** 2) / (n - 1)
    ms_cols = n * np.sum((x.mean(axis=0) - grand) ** 2) / (k - 1)
    ss_error = np.sum((x - grand) ** 2) - ms_rows * (n - 1) - ms_cols * (k - 1)
    ms_error = ss_error / ((n - 1) * (k - 1))
    denominator = ms_rows + (k - 1) * ms_error
    if form == "agreement":
        denominator += k * (ms_cols - ms_error) / n
    if denominator == 0:
        return float("nan")
    return float((ms_rows - ms_error) / denominator)


# --------------------------------------------------------------------------- test-retest

def _repeats(measurements) -> np.ndarray:
    """``measurements`` as a finite (subjects, repeats) table with >= 2 subjects and >= 2 repeats."""
    x = _numbers(measurements, "measurements")
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError("measurements must be a table with one row per subject and one column per scan: "
                         f">= 2 subjects and >= 2 scans each, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("measurements contain infinite values")
    return x


def within_subject_sd(measurements) -> float:
    """Within-subject standard deviation (wSD) of repeated measurements.

    The square root of the mean, over subjects, of each subject's variance across
    its repeats (``ddof=1``): the SD of one measurement about that subject's own
    mean, pooled. For two scans per subject this is ``sqrt(sum(d**2) / (2 n))``
    with ``d`` the scan-rescan differences (Raunig et al. 2015).

    Parameters
    ----------
    measurements : array_like, (n_subjects, n_repeats)
        One row per subject, one column per scan (e.g. volumes in mL).

    Returns
    -------
    float
        In the unit of ``measurements``.

    Examples
    --------
    >>> within_subject_sd([[10.0, 12.0], [20.0, 18.0]])   # differences 2 and -2: sqrt(8 / 4)
    1.4142135623730951
    """
    x = _repeats(measurements)
    return float(np.sqrt(np.mean(np.var(x, axis=1, ddof=1))))


def within_subject_cv(measurements) -> float:
    """Within-subject coefficient of variation (wCV), in percent.

    Each subject's SD across its repeats divided by its mean, combined as a
    root mean square over subjects (Raunig et al. 2015). Use it when the scatter
    grows with the size of what is measured (a 100 mL gland scatters more in mL
    than a 20 mL one); every subject's mean must be > 0.

    Examples
    --------
    >>> round(within_subject_cv([[10.0, 12.0], [20.0, 24.0]]), 3)   # both 12.856 % of their mean
    12.856
    """
    x = _repeats(measurements)
    means = x.mean(axis=1)
    if np.any(means <= 0):
        raise ValueError("within_subject_cv needs a positive mean for every subject (volumes, lengths)")
    return float(100.0 * np.sqrt(np.mean(np.var(x, axis=1, ddof=1) / means ** 2)))


def repeatability_coefficient(measurements) -> float:
    """Repeatability coefficient RC = 2.77 x wSD, in the unit of ``measurements``.

    Two scans of one subject differ by less than RC in 95 % of subjects when
    nothing has changed (``RC_FACTOR`` = 1.96 x sqrt(2): the difference of two
    scans has SD sqrt(2) x wSD). A change larger than RC can be called real.

    Examples
    --------
    >>> round(repeatability_coefficient([[10.0, 12.0], [20.0, 18.0]]), 3)   # 2.772 x 1.414
    3.92
    """
    return RC_FACTOR * within_subject_sd(measurements)


@dataclass(frozen=True)
class Repeatability:
    """Test-retest summary of one method (:func:`repeatability`).

    Attributes
    ----------
    n_subjects, n_repeats : int
    mean : float
        Mean of all measurements (input unit).
    within_sd : float
        wSD, input unit.
    within_cv_percent : float
        wCV, percent.
    rc : float
        Repeatability coefficient, 2.77 x wSD (input unit).
    rc_percent : float
        2.77 x wCV: the smallest real change in percent of the volume.
    within_sd_ci, rc_ci, rc_percent_ci : tuple of float
        Confidence intervals (``level``) from the chi-square distribution of the
        pooled variance with ``n_subjects x (n_repeats - 1)`` degrees of freedom.
    level : float
    """

    n_subjects: int
    n_repeats: int
    mean: float
    within_sd: float
    within_cv_percent: float
    rc: float
    rc_percent: float
    within_sd_ci: tuple
    rc_ci: tuple
    rc_percent_ci: tuple
    level: float

    def __str__(self) -> str:
        low, high = self.rc_ci
        return (f"wSD {self.within_sd:.3g}, wCV {self.within_cv_percent:.2f} %, RC {self.rc:.3g} "
                f"({100 * self.level:g} % CI {low:.3g}-{high:.3g}), RC {self.rc_percent:.2f} % "
                f"[{self.n_subjects} subjects x {self.n_repeats} scans]")


def repeatability(measurements, level: float = 0.95) -> Repeatability:
    """wSD, wCV and RC of repeated measurements, with confidence intervals.

    Parameters
    ----------
    measurements : array_like, (n_subjects, n_repeats)
        One row per subject, one column per scan; values > 0 (the wCV divides by them).
    level : float
        Confidence level of the intervals (0-1).

    Returns
    -------
    Repeatability
        The CI of wSD is ``wSD * sqrt(df / chi2_quantile)`` with
        ``df = n_subjects * (n_repeats - 1)``; RC's is 2.77 times it. With 10
        subjects scanned twice the 95 % CI of RC runs from about 0.7 to 1.75 times
        the estimate: test-retest studies need many subjects.

    Examples
    --------
    >>> r = repeatability([[10.0, 12.0], [20.0, 18.0], [30.0, 31.0]])
    >>> round(r.rc, 3), r.n_subjects
    (3.395, 3)
    """
    from scipy import stats

    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    x = _repeats(measurements)
    n, k = x.shape
    wsd, wcv = within_subject_sd(x), within_subject_cv(x)
    df = n * (k - 1)
    alpha = 1.0 - float(level)
    scale = (math.sqrt(df / stats.chi2.ppf(1.0 - alpha / 2.0, df)), math.sqrt(df / stats.chi2.ppf(alpha / 2.0, df)))
    return Repeatability(n_subjects=n, n_repeats=k, mean=float(x.mean()), within_sd=wsd,
                         within_cv_percent=wcv, rc=RC_FACTOR * wsd, rc_percent=RC_FACTOR * wcv,
                         within_sd_ci=tuple(wsd * s for s in scale),
                         rc_ci=tuple(RC_FACTOR * wsd * s for s in scale),
                         rc_percent_ci=tuple(RC_FACTOR * wcv * s for s in scale), level=float(level))


# --------------------------------------------------------------------------- intervals

def spread_percent(values) -> float:
    """Range of several measurements of one case as a share of their mean, in %.

    ``100 x (max - min) / mean``: how far networks trained alike (or readers) disagree on one
    volume. Two readers at 20 and 30 mL disagree by 40 %.

    Parameters
    ----------
    values : sequence of float
        At least two measurements of the same quantity (e.g. volumes in mL), none negative.

    Returns
    -------
    float
        The spread in %: 0 when all agree (all zeros included).

    >>> spread_percent([20.0, 30.0])
    40.0
    """
    v = np.asarray(values, dtype=float).ravel()
    if v.size < 2 or not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"need at least two finite, non-negative values, got {v.tolist()}")
    mean = float(v.mean())
    return 0.0 if mean == 0 else 100.0 * float(v.max() - v.min()) / mean


@dataclass(frozen=True)
class Coverage:
    """How many intervals held the truth (:func:`interval_coverage`).

    Attributes
    ----------
    fraction : float
        ``hits / n`` (0-1).
    hits, n : int
    ci : tuple of float
        Exact (Clopper-Pearson) confidence interval of the fraction at ``level``.
    level : float
    """

    fraction: float
    hits: int
    n: int
    ci: tuple
    level: float

    def __str__(self) -> str:
        return (f"{self.hits} of {self.n} intervals hold the truth ({100 * self.fraction:.0f} %, "
                f"{100 * self.level:g} % CI {100 * self.ci[0]:.0f}-{100 * self.ci[1]:.0f} %)")


def _intervals(lower, upper, truth):
    lo, hi, t = (_numbers(v, name).ravel() for v, name in ((lower, "lower"), (upper, "upper"), (truth, "truth")))
    if not lo.size == hi.size == t.size or lo.size == 0:
        raise ValueError(f"lower, upper and truth must have the same, non-zero length; got {lo.size}, {hi.size}, "
                         f"{t.size}")
    if np.any(hi < lo):
        raise ValueError("an interval has upper < lower")
    return lo, hi, t


def interval_coverage(lower, upper, truth, level: float = 0.95) -> Coverage:
    """Share of intervals ``[lower, upper]`` (ends included) that hold the true value.

    A 90 % interval method should cover the truth about 90 % of the time; on a
    few dozen cases the measured share scatters, hence the exact binomial
    confidence interval.

    Examples
    --------
    >>> interval_coverage([9, 18, 31], [11, 22, 33], [10, 23, 31]).hits
    2
    """
    from scipy import stats

    lo, hi, t = _intervals(lower, upper, truth)
    hits = int(np.sum((lo <= t) & (t <= hi)))
    ci = stats.binomtest(hits, lo.size).proportion_ci(confidence_level=level, method="exact")
    return Coverage(fraction=hits / lo.size, hits=hits, n=int(lo.size), ci=(float(ci.low), float(ci.high)),
                    level=float(level))


def width_factor(centre, lower, upper, truth, level: float = 0.9) -> float:
    """How much intervals around ``centre`` must be widened to hold the truth ``level`` of the time.

    Split conformal calibration with a normalised score (Angelopoulos & Bates
    2021): each calibration case scores ``|truth - centre| / half-width``; the
    factor is the ``ceil((n + 1) * level)``-th smallest score. Intervals of new
    cases, ``centre -/+ factor * half-width``, then hold the truth with
    probability at least ``level`` - provided the new cases are like the
    calibration cases (exchangeable). Use cases that were not used for anything
    else.

    Parameters
    ----------
    centre, lower, upper, truth : array_like
        One value per calibration case.
    level : float
        Wanted coverage (0-1).

    Returns
    -------
    float
        The factor (> 1 widens); ``inf`` when there are too few cases for
        ``level`` (fewer than ``level / (1 - level)``).

    Examples
    --------
    >>> width_factor([10, 20, 30, 40], [9, 19, 29, 39], [11, 21, 31, 41], [10.5, 22, 33, 40], level=0.75)
    3.0
    """
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    lo, hi, t = _intervals(lower, upper, truth)
    c = _numbers(centre, "centre").ravel()
    if c.size != t.size:
        raise ValueError(f"centre has {c.size} values for {t.size} intervals")
    half = np.maximum(c - lo, hi - c)
    error = np.abs(t - c)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(half > 0, error / half, np.where(error > 0, np.inf, 0.0))
    rank = math.ceil((scores.size + 1) * float(level))
    return float(np.sort(scores)[rank - 1]) if rank <= scores.size else float("inf")


# --------------------------------------------------------------------------- two methods, same cases, who wins

@dataclass(frozen=True)
class PairedDifference:
    """Mean per-case difference between two methods and its bootstrap confidence interval.

    Attributes
    ----------
    mean : float
        Mean of ``a - b`` over the cases (the unit of the scores, e.g. Dice).
    lower, upper : float
        Bootstrap percentile confidence interval of the mean at ``level``.
    level : float
        Confidence level of the interval (e.g. 0.95).
    n : int
        Number of cases (pairs).
    a_better : int
        Cases where ``a > b``.
    b_better : int
        Cases where ``b > a`` (ties count for neither).
    differences : numpy.ndarray
        The per-case differences ``a - b``.
    """

    mean: float
    lower: float
    upper: float
    level: float
    n: int
    a_better: int
    b_better: int
    differences: np.ndarray

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies entirely above or below 0: the data favour one method."""
        return self.lower > 0 or self.upper < 0


def paired_difference(a, b, *, level: float = 0.95, n_resamples: int = 9999, seed: int = 0) -> PairedDifference:
    """Compare two methods case by case: mean of ``a - b`` with a bootstrap confidence interval.

    The cases are resampled with replacement and the mean difference recomputed
    ``n_resamples`` times (``scipy.stats.bootstrap``, percentile method); the
    interval holds the central ``level`` share of those means. Pairing matters:
    the spread *between* cases (an easy gland, a hard one) cancels in the
    difference, so a paired interval is much narrower than one from two separate
    means.

    Parameters
    ----------
    a, b : array_like
        Scores of the two methods on the same cases, in the same order (e.g. Dice).
    level : float
        Confidence level, in (0, 1).
    n_resamples : int
        Bootstrap resamples.
    seed : int
        Seed of the resampling: the same seed gives the same interval.

    Returns
    -------
    PairedDifference

    Raises
    ------
    ValueError
        If the lengths differ, there are fewer than 3 cases, a value is NaN, or
        ``level`` is not in (0, 1).

    Examples
    --------
    >>> d = paired_difference([0.90, 0.92, 0.95, 0.91], [0.88, 0.90, 0.94, 0.90])
    >>> round(d.mean, 3), d.a_better, d.excludes_zero
    (0.015, 4, True)
    """
    from scipy import stats

    first = _numbers(a, "a").ravel()
    second = _numbers(b, "b").ravel()
    if first.shape != second.shape:
        raise ValueError(f"a and b must score the same cases, got {first.size} and {second.size} values")
    if first.size < 3:
        raise ValueError(f"paired_difference needs at least 3 cases, got {first.size}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    seed = as_seed(seed)
    diff = first - second
    if np.ptp(diff) == 0:        # every case differs by the same amount: no spread to resample
        lower = upper = float(diff[0])
    else:
        result = stats.bootstrap((diff,), np.mean, n_resamples=n_resamples, confidence_level=level,
                                 method="percentile", rng=np.random.default_rng(seed))
        lower, upper = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return PairedDifference(mean=float(diff.mean()), lower=lower, upper=upper, level=level, n=int(diff.size),
                            a_better=int(np.sum(diff > 0)), b_better=int(np.sum(diff < 0)), differences=diff)
