"""Paired comparisons over seeds: intervals, tests, equivalence, power.

Pure functions of arrays of paired differences (one per seed), so each can be
checked against an independent implementation. Student's t and the noncentral t
come from scipy.special, which loads in a third of scipy.stats's time.
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

import numpy as np
from scipy import special

# Seed counts searched when asking how many seeds a question needs.
MAX_SEEDS = 1000


def _t(p: float, df: int) -> float:
    """The p quantile of Student's t with df degrees of freedom."""
    return float(special.stdtrit(df, p))


def _t_cdf(x: float, df: int) -> float:
    return float(special.stdtr(df, x))


def percent(fraction: float) -> str:
    """0.95 as "95%", 0.9 as "90%": how every level and rate is written."""
    return f"{100 * fraction:g}%"


def interval_levels(alpha: float) -> tuple[str, str]:
    """The two intervals every comparison shows, as words: the (1 - alpha) one of a
    difference and the (1 - 2 alpha) one of equivalence (TOST)."""
    return percent(1 - alpha), percent(1 - 2 * alpha)


def mean_sd(diffs: Sequence[float]) -> tuple[float, float]:
    d = np.asarray(diffs, dtype=float)
    return float(d.mean()), float(d.std(ddof=1))


def with_min_sd(diffs: Sequence[float], min_sd: float) -> np.ndarray:
    """The differences with their deviations from the mean scaled so that their sd
    is at least ``min_sd``: every t interval and p-value of them is then the one of
    a t statistic whose spread is floored (a sequential design's min_sd). No spread
    stays none."""
    d = np.asarray(diffs, dtype=float)
    mean, sd = mean_sd(d)
    if sd == 0 or sd >= min_sd:
        return d
    return mean + (d - mean) * (min_sd / sd)


def t_interval(diffs: Sequence[float], confidence: float) -> tuple[float, float]:
    """Two-sided Student t interval for the mean difference."""
    n = len(diffs)
    mean, sd = mean_sd(diffs)
    half = _t(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
    return mean - half, mean + half


def prediction_interval(values: Sequence[float], confidence: float) -> tuple[float, float]:
    """Where one more run falls: mean +- t * sd * sqrt(1 + 1/n)."""
    n = len(values)
    mean, sd = mean_sd(values)
    half = _t(0.5 + confidence / 2, n - 1) * sd * math.sqrt(1 + 1 / n)
    return mean - half, mean + half


def unpaired_prediction_interval(
    a: Sequence[float], b: Sequence[float], confidence: float
) -> tuple[float, float]:
    """Where the difference of one new run of ``a`` and one new, *independent* run of
    ``b`` falls (two runs of another study, not paired by seed): mean difference +-
    t * sqrt(s_a^2 + s_b^2 + s_d^2 / n), with s_d the sd of the paired differences
    (the uncertainty of the mean) and n - 1 degrees of freedom, the fewest the
    variances have, so the interval errs wide."""
    n = len(a)
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    mean, sd_d = mean_sd(diffs)
    spread = math.sqrt(mean_sd(a)[1] ** 2 + mean_sd(b)[1] ** 2 + sd_d**2 / n)
    half = _t(0.5 + confidence / 2, n - 1) * spread
    return mean - half, mean + half


def has_spread(diffs: Sequence[float], resolution: float = 0.0) -> bool:
    """Whether the differences vary between seeds by more than ``resolution`` (the
    precision the values were stored with). Without spread there is no estimate of
    the noise, so no test applies: a constant difference is not an infinitely
    precise one."""
    d = np.asarray(diffs, dtype=float)
    return len(d) >= 2 and float(d.max() - d.min()) > resolution


def _t_statistic(diffs: Sequence[float], shift: float = 0.0) -> float:
    n = len(diffs)
    mean, sd = mean_sd(diffs)
    return (mean - shift) / (sd / math.sqrt(n))


def _untestable_as_nan(test):
    """A test of differences without spread gives NaN, never p = 0 or 1."""

    @functools.wraps(test)
    def wrapped(diffs, *args):
        return test(diffs, *args) if mean_sd(diffs)[1] > 0 else math.nan

    return wrapped


@_untestable_as_nan
def p_difference(diffs: Sequence[float]) -> float:
    """Two-sided p-value of the paired t test of a zero mean difference."""
    t = _t_statistic(diffs)
    return min(1.0, 2 * _t_cdf(-abs(t), len(diffs) - 1))


@_untestable_as_nan
def p_equivalence(diffs: Sequence[float], margin: float) -> float:
    """TOST: p-value that the mean difference lies inside (-margin, +margin).

    Below alpha exactly when the (1 - 2 alpha) interval lies inside the margins.
    """
    df = len(diffs) - 1
    p_above_lower = 1 - _t_cdf(_t_statistic(diffs, -margin), df)  # H0: mean <= -margin
    p_below_upper = _t_cdf(_t_statistic(diffs, margin), df)  # H0: mean >= +margin
    return max(p_above_lower, p_below_upper)


@_untestable_as_nan
def p_below(diffs: Sequence[float], bound: float) -> float:
    """One-sided p-value of H0 "mean difference >= bound" against "below it".

    Below alpha exactly when the upper end of the (1 - 2 alpha) interval is below
    ``bound``: with ``bound`` a margin in a claim's direction, it shows the effect
    smaller than the margin (the one-sided half of TOST)."""
    return _t_cdf(_t_statistic(diffs, bound), len(diffs) - 1)


@_untestable_as_nan
def p_beyond_margin(diffs: Sequence[float], margin: float) -> float:
    """Two-sided p-value that the mean difference lies outside [-margin, +margin].

    Below alpha exactly when the (1 - alpha) interval lies wholly beyond one margin.
    """
    df = len(diffs) - 1
    p_above = 1 - _t_cdf(_t_statistic(diffs, margin), df)  # H0: mean <= +margin
    p_below = _t_cdf(_t_statistic(diffs, -margin), df)  # H0: mean >= -margin
    return min(1.0, 2 * min(p_above, p_below))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: family-wise error at most alpha."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def _nct_sf(x: float, df: int, nc: float) -> float:
    """P(T > x) for a noncentral t."""
    cdf = float(special.nctdtr(df, nc, x))
    if math.isnan(cdf):  # far tails, where the series fails: the limit
        return 1.0 if nc > x else 0.0
    return 1 - cdf


def power_difference(delta: float, sd: float, n: int, alpha: float) -> float:
    """Power of the two-sided paired t test at level alpha, true difference delta."""
    if n < 2 or sd <= 0:
        return math.nan
    df, crit = n - 1, _t(1 - alpha / 2, n - 1)
    nc = delta * math.sqrt(n) / sd
    return _nct_sf(crit, df, nc) + (1 - _nct_sf(-crit, df, nc))


def power_equivalence(delta: float, margin: float, sd: float, n: int, alpha: float) -> float:
    """Power of TOST at level alpha, true difference delta (a lower bound:
    P(both one-sided tests reject) >= P(one) + P(other) - 1)."""
    if n < 2 or sd <= 0:
        return math.nan
    df, crit = n - 1, _t(1 - alpha, n - 1)
    scale = math.sqrt(n) / sd
    lower = _nct_sf(crit, df, (delta + margin) * scale)
    upper = 1 - _nct_sf(-crit, df, (delta - margin) * scale)
    return max(0.0, lower + upper - 1)


def detectable_difference(sd: float, n: int, alpha: float, power: float) -> float:
    """The smallest difference the paired t test finds with the given power."""
    from scipy.optimize import brentq

    if n < 2 or sd <= 0:
        return math.nan
    hi = sd
    while power_difference(hi, sd, n, alpha) < power:
        hi *= 2
    return float(
        brentq(lambda d: power_difference(d, sd, n, alpha) - power, 0.0, hi, xtol=sd * 1e-9)
    )


def seeds_needed(power_at, target: float) -> int | None:
    """The fewest seeds n >= 2 with power_at(n) >= target, or None past MAX_SEEDS."""
    for n in range(2, MAX_SEEDS + 1):
        if power_at(n) >= target:
            return n
    return None
