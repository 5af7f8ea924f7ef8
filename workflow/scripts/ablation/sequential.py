"""A group-sequential design for paired comparisons over seeds: seeds are added in
looks until each comparison is decided, with the error rates of a fixed design.

The procedure (Jennison & Turnbull, *Group Sequential Methods with Applications to
Clinical Trials*, 2000, ch. 2, 7, 9 and 10):

- looks after n_1 < n_2 < ... < n_K seeds (the cap n_K), information fractions
  n_k / n_K;
- two-sided boundaries from the Lan-DeMets alpha-spending function of O'Brien-Fleming
  type, alpha(t) = 2 - 2 Phi(z_{1-alpha/2} / sqrt(t)) (Lan & DeMets, Biometrika 1983),
  computed by the recursive numerical integration of Armitage, McPherson & Rowe
  (JRSS A 1969);
- applied to the paired t statistic on the p-value scale (Jennison & Turnbull 2000,
  section 3.8): at look k the nominal two-sided level is 2 (1 - Phi(c_k)), and its
  t quantile with n_k - 1 degrees of freedom gives the **repeated confidence
  interval** (Jennison & Turnbull, JRSS B 1989) mean +- t * sd / sqrt(n_k), which
  covers the true difference at every look at once with probability about 1 - alpha;
- decisions from those intervals: the (1 - alpha) interval excludes 0: *different*;
  the (1 - 2 alpha) interval inside +-margin: *equivalent* (TOST, each side at
  alpha); a comparison stops at the first look that decides it;
- a futility rule: stop when the conditional power under the current estimate
  (Jennison & Turnbull 2000, section 10.2) of deciding anything by the cap is below
  ``futility``, from the first look whose spread has MIN_FUTILITY_DF degrees of
  freedom. Non-binding in that the boundaries ignore it; the simulated rates assume
  it is followed (never following it: false "different" 0.046, false "equivalent"
  0.042 instead of 0.039, benchmarks/README.md);
- the spread each decision uses is at least ``min_sd`` (MIN_SD_REASON): with skewed
  differences (a reference that fails on some seeds) the plain paired t decided
  wrongly up to 7.5% of the time at alpha 0.05; with the floor every simulated row
  holds alpha.

Pure functions of arrays, so that the tests can simulate thousands of studies
(sequential_simulation.py). The boundaries are spending.py's; the look files,
looks.py's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .spending import boundaries, level_curve, nominal_levels, normal_cdf, t_boundary

PROCEDURE = (
    "group-sequential design, Lan-DeMets alpha spending of O'Brien-Fleming type, "
    "repeated confidence intervals from the paired t statistic"
)


CITATIONS = (
    "Lan, K. K. G. & DeMets, D. L. (1983). Discrete sequential boundaries for clinical "
    "trials. Biometrika 70(3), 659-663.",
    "Jennison, C. & Turnbull, B. W. (1989). Interim analyses: the repeated confidence "
    "interval approach. JRSS B 51(3), 305-361.",
    "Jennison, C. & Turnbull, B. W. (2000). Group Sequential Methods with Applications to "
    "Clinical Trials. Chapman & Hall/CRC (ch. 7 spending functions, ch. 9 repeated "
    "confidence intervals, ch. 10 stochastic curtailment).",
    "Tusher, V. G., Tibshirani, R. & Chu, G. (2001). Significance analysis of microarrays "
    "applied to the ionizing radiation response. PNAS 98(9), 5116-5121 (the s0 term: a "
    "least spread in a t statistic's denominator).",
)


# The metric whose decisions stop a comparison; the others are judged at its
# stopping look.
PRIMARY = "test_accuracy"


# A futility stop rests on the spread measured so far: with 2 degrees of freedom (3
# seeds) it stopped 15.9% of comparisons with no difference and 4.9% of real 0.3 pp
# effects, and cost 2.5 points of power; from 5 (6 seeds) on it costs 1.1 points and
# saves 1.6 seeds where there is no difference (benchmarks/sequential_designs.py).
MIN_FUTILITY_DF = 5


MIN_SD_REASON = (
    "a spread measured on a few seeds misses the rare failed run (one seed 0.4 pp "
    "low): seeds that happen to show none look precise and off centre at once, and "
    "a paired t then decides too often (simulated: false different 0.069, false "
    "equivalent 0.075 with 30% of seeds moved by 0.4 pp on a spread of 0.1 pp). "
    "Decisions take the larger of the measured sd and min_sd, as SAM's fudge "
    "factor s0 guards a t statistic against tiny spreads (Tusher, Tibshirani & Chu "
    "2001); its default was chosen by simulation so that every row of the design's "
    "table, skewed ones included, holds alpha"
)


@dataclass(frozen=True)
class Design:
    """A pre-registered sequential design: looks (seeds at each), alpha, the
    conditional power below which a comparison stops as futile."""

    looks: tuple[int, ...]
    alpha: float
    futility: float
    # The least spread of paired differences a decision assumes (MIN_SD_REASON).
    min_sd: float = 0.0

    @classmethod
    def from_config(cls, sequential, alpha: float) -> "Design":
        first, step, cap = sequential["first_look"], sequential["seeds_per_look"], sequential["cap"]
        looks = tuple(range(first, cap + 1, step))
        if looks[-1] != cap:  # the last look is the cap, however the steps fall
            looks = (*looks, cap)
        return cls(
            looks=looks,
            alpha=alpha,
            futility=sequential["futility"],
            min_sd=sequential.get("min_sd", 0.0),
        )

    @classmethod
    def from_dict(cls, data) -> "Design":
        return cls(
            looks=tuple(data["looks"]),
            alpha=data["alpha"],
            futility=data["futility"],
            min_sd=data.get("min_sd", 0.0),
        )

    def may_stop_for_futility(self, k: int) -> bool:
        """Futility only where the spread has MIN_FUTILITY_DF degrees of freedom, and
        never at the cap (there a comparison is "not decided")."""
        return k < len(self.looks) - 1 and self.looks[k] - 1 >= MIN_FUTILITY_DF

    @property
    def cap(self) -> int:
        return self.looks[-1]

    def difference_levels(self) -> tuple[float, ...]:
        return nominal_levels(self.looks, self.alpha)

    def equivalence_levels(self) -> tuple[float, ...]:
        return nominal_levels(self.looks, 2 * self.alpha)

    def t_bounds(self, k: int) -> tuple[float, float]:
        """The t multipliers of look k's repeated intervals: (difference, equivalence)."""
        n = self.looks[k]
        return (
            t_boundary(n, self.difference_levels()[k]),
            t_boundary(n, self.equivalence_levels()[k]),
        )

    def as_dict(self) -> dict:
        return {
            "procedure": PROCEDURE,
            "looks": list(self.looks),
            "alpha": self.alpha,
            "futility": self.futility,
            "min_sd": self.min_sd,
            "min_futility_df": MIN_FUTILITY_DF,
            "z_boundaries": list(boundaries(self.looks, self.alpha)),
            "z_boundaries_equivalence": list(boundaries(self.looks, 2 * self.alpha)),
            "nominal_p": list(self.difference_levels()),
            "nominal_p_equivalence": list(self.equivalence_levels()),
        }


def repeated_intervals(diffs: Sequence[float], design: Design, k: int, min_sd: float = 0.0):
    """Look k's repeated intervals of the mean paired difference over the first
    n_k seeds: ((1 - alpha) interval, (1 - 2 alpha) interval), taking the spread as
    at least ``min_sd`` (the design's, for the metric it decides on)."""
    d = np.asarray(diffs, dtype=float)[: design.looks[k]]
    n = len(d)
    mean, se = float(d.mean()), max(float(d.std(ddof=1)), min_sd) / math.sqrt(n)
    t_diff, t_eq = design.t_bounds(k)
    return (mean - t_diff * se, mean + t_diff * se), (mean - t_eq * se, mean + t_eq * se)


def conditional_power(mean, sd, n: int, design: Design, margin: float):
    """The chance, if the true difference and spread are the ones seen, that the
    comparison is decided (different or equivalent) at the cap, taking the spread as
    known: the final mean of N seeds is normal about ``mean`` with variance
    (N - n) sd^2 / N^2 given the n seen. Takes arrays (one per comparison) too."""
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    cap = design.cap
    if n >= cap:
        return np.zeros_like(mean) if mean.ndim else 0.0
    t_diff, t_eq = design.t_bounds(len(design.looks) - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_final = sd / math.sqrt(cap)
        spread = math.sqrt(cap - n) * sd / cap
        different = (
            1
            - normal_cdf((t_diff * se_final - mean) / spread)
            + normal_cdf((-t_diff * se_final - mean) / spread)
        )
        reach = margin - t_eq * se_final
        equivalent = np.where(
            reach > 0,
            np.clip(
                normal_cdf((reach - mean) / spread) - normal_cdf((-reach - mean) / spread), 0, 1
            ),
            0.0,
        )
        power = np.where(sd > 0, np.minimum(1.0, different + equivalent), 0.0)
    return power if power.ndim else float(power)


@dataclass(frozen=True)
class Look:
    """What look k found for one comparison."""

    n: int
    mean: float
    interval: tuple[float, float]
    equivalence_interval: tuple[float, float]
    conditional_power: float
    decision: str  # different, equivalent, futile, not decided, not testable, continue


def decide(d: np.ndarray, design: Design, k: int, margin: float):
    """The decision rule, once, for rows of paired differences at look k (their
    first n_k columns): each row's decision, mean, spread used, conditional power.

    Different: the (1 - alpha) repeated interval excludes zero. Equivalent: the
    (1 - 2 alpha) one lies inside +-margin. Not testable: no spread between the seeds
    (a constant difference is not an infinitely precise one), at the cap; before it,
    the next seeds may bring one. Futile: conditional power below the design's,
    where it may stop for futility. Not decided: at the cap. Else continue."""
    n = design.looks[k]
    x = np.asarray(d, dtype=float)[:, :n]
    mean = x.mean(axis=1)
    measured = x.std(axis=1, ddof=1)
    spread = np.ptp(x, axis=1) > 0  # paired.has_spread, row by row
    sd = np.maximum(measured, design.min_sd)
    se = sd / math.sqrt(n)
    t_diff, t_eq = design.t_bounds(k)
    last = k == len(design.looks) - 1
    power = conditional_power(mean, sd, n, design, margin) if not last else np.zeros(len(x))
    different = spread & (np.abs(mean) > t_diff * se)
    equivalent = spread & ~different & (np.abs(mean) + t_eq * se < margin)
    open_ = spread & ~different & ~equivalent
    futile = open_ & (power < design.futility) if design.may_stop_for_futility(k) else False
    decision = np.full(len(x), "continue", dtype=object)
    decision[different] = "different"
    decision[equivalent] = "equivalent"
    decision[futile] = "futile"
    if last:
        decision[open_] = "not decided"
        decision[~spread] = "not testable"
    return decision, mean, sd, power


def look(diffs: Sequence[float], design: Design, k: int, margin: float) -> Look:
    """Look k of one comparison: its repeated intervals and what they decide."""
    d = np.asarray(diffs, dtype=float)[: design.looks[k]]
    (low, high), (eq_low, eq_high) = repeated_intervals(d, design, k, design.min_sd)
    decision, mean, _, power = decide(d[None, :], design, k, margin)
    return Look(
        len(d), float(mean[0]), (low, high), (eq_low, eq_high), float(power[0]), decision[0]
    )


def decide_all(d: np.ndarray, design: Design, margin: float):
    """The design applied to many comparisons at once (rows of paired differences,
    at least cap long), look by look with ``decide``, as the workflow's looks do.
    Returns each row's final decision and the seeds it used."""
    studies, cap = len(d), design.cap
    decision = np.full(studies, "not decided", dtype=object)
    seeds = np.full(studies, cap)
    open_ = np.ones(studies, dtype=bool)
    for k, n in enumerate(design.looks):
        found, *_ = decide(d, design, k, margin)
        now = open_ & (found != "continue")
        decision[now] = found[now]
        seeds[now] = n
        open_ &= ~now
    return decision, seeds


def repeated_p(p_fixed: float, design: Design, k: int, sides: int = 2) -> float:
    """The repeated p-value at look k (Jennison & Turnbull 1989): the smallest alpha
    at which the design's look-k repeated interval excludes the tested value, from
    the fixed-sample p-value of the same t statistic. ``sides=1`` for a one-sided
    p-value (a half of TOST), which the (1 - 2 alpha) repeated interval decides."""
    if math.isnan(p_fixed):
        return math.nan
    alphas, levels = level_curve(design.looks)
    curve = levels[:, k]
    two_sided = min(1.0, p_fixed * (2 if sides == 1 else 1))
    if two_sided >= curve[-1]:
        return 1.0
    found = float(
        np.exp(np.interp(np.log(max(two_sided, curve[0])), np.log(curve), np.log(alphas)))
    )
    return found / 2 if sides == 1 else found
