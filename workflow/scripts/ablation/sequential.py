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

Pure functions of arrays, so that the tests can simulate thousands of studies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy import special
from scipy.optimize import brentq

from . import statistics

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

# Below this chance of being decided by the cap (conditional power at the spread
# seen), a look says that going on is unlikely to decide anything, whether or not
# the design may stop for futility there.
HOPELESS_POWER = 0.1

# Grid points per unit of standard deviation in the numerical integration.
_GRID_PER_SD = 40


def _phi_cdf(x):
    return special.ndtr(x)


def obrien_fleming_spending(t: float, alpha: float) -> float:
    """Two-sided alpha spent by information fraction t: each side spends alpha / 2 by
    Lan and DeMets' O'Brien-Fleming-type function 2 - 2 Phi(z_{1 - a/2} / sqrt(t))
    with a = alpha / 2, as gsDesign's sfLDOF and rpact's asOF do for a two-sided
    design (four equal looks at alpha 0.05: z 4.33, 2.96, 2.36, 2.01)."""
    if t <= 0:
        return 0.0
    side = 2 * _phi_cdf(special.ndtri(alpha / 4) / math.sqrt(min(t, 1.0)))  # upper tails
    return float(2 * side)


@lru_cache(maxsize=256)
def boundaries(looks: tuple[int, ...], alpha: float) -> tuple[float, ...]:
    """Two-sided z boundaries c_1..c_K for looks after ``looks`` seeds: under no
    difference, P(|Z_j| < c_j for j < k, |Z_k| >= c_k) is the alpha spent between
    looks k - 1 and k. The score S_k = Z_k sqrt(n_k) has independent normal
    increments; its density on the continuation region is carried from look to look
    on a grid (Armitage, McPherson & Rowe 1969)."""
    cap = looks[-1]
    spent = [obrien_fleming_spending(n / cap, alpha) for n in looks]
    bounds: list[float] = []
    grid = density = None
    previous_info = 0
    for k, info in enumerate(looks):
        target = spent[k] - (spent[k - 1] if k else 0.0)
        step_sd = math.sqrt(info - previous_info)
        if k == 0:
            c = float(-special.ndtri(target / 2))
        else:
            # P(cross at k) = sum over the grid of f(u) P(|u + X| >= c sqrt(info)).
            def crossing(c, grid=grid, density=density, step_sd=step_sd, info=info):
                edge = c * math.sqrt(info)
                inside = _phi_cdf((edge - grid) / step_sd) - _phi_cdf((-edge - grid) / step_sd)
                return float(np.sum(density * (1 - inside)))

            # Where less is left to cross than is to be spent, every path stops.
            if crossing(0.0) <= target:
                c = 0.0
            else:
                c = float(brentq(lambda c: crossing(c) - target, 0.0, 40.0, xtol=1e-10))
        bounds.append(c)
        # The density of S_k on |S_k| < c sqrt(info), for the next look.
        edge = c * math.sqrt(info)
        if edge == 0:
            break  # nothing continues past this look
        points = max(401, int(2 * edge / math.sqrt(info) * _GRID_PER_SD) | 1)
        new_grid = np.linspace(-edge, edge, points)
        weights = np.full(points, 2.0)
        weights[1::2] = 4.0
        weights[0] = weights[-1] = 1.0
        weights *= (new_grid[1] - new_grid[0]) / 3  # Simpson's rule
        if k == 0:
            pdf = np.exp(-0.5 * new_grid**2 / info) / math.sqrt(2 * math.pi * info)
        else:
            z = (new_grid[:, None] - grid[None, :]) / step_sd
            kernel = np.exp(-0.5 * z**2) / (math.sqrt(2 * math.pi) * step_sd)
            pdf = kernel @ density
        grid, density, previous_info = new_grid, pdf * weights, info
    return tuple(bounds)


def nominal_levels(looks: tuple[int, ...], alpha: float) -> tuple[float, ...]:
    """The two-sided nominal p-value each look's boundary stands for."""
    return tuple(float(2 * _phi_cdf(-c)) for c in boundaries(looks, alpha))


def t_boundary(n: int, nominal: float) -> float:
    """The paired t statistic of n seeds at the same two-sided p-value."""
    return float(special.stdtrit(n - 1, 1 - nominal / 2))


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
            - _phi_cdf((t_diff * se_final - mean) / spread)
            + _phi_cdf((-t_diff * se_final - mean) / spread)
        )
        reach = margin - t_eq * se_final
        equivalent = np.where(
            reach > 0,
            np.clip(_phi_cdf((reach - mean) / spread) - _phi_cdf((-reach - mean) / spread), 0, 1),
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
    spread = np.ptp(x, axis=1) > 0  # statistics.has_spread, row by row
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


def simulated_sequences(design: Design, true_difference: float, sd: float, margin: float,
                        studies: int, rng: np.random.Generator, outliers: float = 0.0,
                        outlier_size: float = 0.0, one_sided: bool = False):  # fmt: skip
    """Run the design on ``studies`` simulated comparisons, all at once: paired
    differences normal(true_difference, sd), and, with ``outliers`` > 0, that share
    of seeds moved by +-outlier_size (heavy tails), or with ``one_sided`` by
    +outlier_size alone (the reference's failed runs: skewed), recentred so that the
    mean difference stays ``true_difference``. Returns each one's final decision and
    the seeds it used."""
    d = rng.normal(true_difference, sd, size=(studies, design.cap))
    if outliers:
        hit = rng.random(d.shape) < outliers
        if one_sided:
            d += outlier_size * (hit - outliers)
        else:
            d += hit * rng.choice([-outlier_size, outlier_size], size=d.shape)
    return decide_all(d, design, margin)


def simulate(*args, **kwargs) -> dict[str, float]:
    """The share of each final decision over simulated comparisons, and the mean
    number of seeds used (arguments: simulated_sequences's)."""
    decision, seeds = simulated_sequences(*args, **kwargs)
    return {
        **{
            name: float(np.mean(decision == name))
            for name in ("different", "equivalent", "futile", "not decided")
        },
        "expected_seeds": float(seeds.mean()),
    }


def fixed_seeds_for_power(target: float, sd: float, alpha: float, power: float) -> int | None:
    """Seeds a fixed (one-look) paired t design needs for ``power`` at ``target``."""
    return statistics.seeds_needed(
        lambda n: statistics.power_difference(target, sd, n, alpha), power
    )


# Studies simulated for the planning figures: a rate near 5% within +-0.2
# percentage points (three standard errors).
PLANNING_STUDIES = 100_000


# The noises the design is simulated under: (name, sd as a share of the planning sd,
# share of seeds moved, by how much, one-sided). Skewed: a spread of 0.1-0.15 pp
# (the default study's variants: +-0.0006 to +-0.0012) with the reference losing
# 0.4 pp on 30% of seeds (its 0.9860 seed); the margin case on both sides, as
# outliers on one side make the two sides differ.
NOISES = (
    ("normal", 1.0, 0.0, False),
    ("heavy-tailed", 1.0, 0.1, False),
    ("skewed", 1 / 3, 0.3, True),
    ("skewed, wider", 1 / 2, 0.3, True),
)


def operating_characteristics(
    design: Design, target: float, sd: float, margin: float, outlier_size: float
) -> dict[str, dict[str, float]]:
    """The design's error rates and seeds by simulation (a fixed random stream, so the
    report states the same numbers every time), under each of NOISES. ``no
    difference``: a wrong *different* is the error; ``at the margin``: a wrong
    *equivalent*; ``at the target``: *different* is the power."""
    out = {}
    for tails, scale, share, one_sided in NOISES:
        cases = [("no difference", 0.0), ("at the margin", margin), ("at the target", target)]
        if one_sided:
            cases.insert(2, ("at minus the margin", -margin))
        for case, truth in cases:
            rng = np.random.default_rng(20260)
            out[f"{case}, {tails}"] = simulate(
                design, truth, sd * scale, margin, PLANNING_STUDIES, rng, share, outlier_size,
                one_sided,
            )  # fmt: skip
    return out


def seeds_after(design: Design, comparisons, variants, open_after) -> dict[str, int]:
    """Seeds each variant has, or is to have, once the looks so far have decided:
    every variant the first look's; after look k, the variants of each comparison
    still open (and their references) the next look's. ``open_after[k]``: the
    indices of the comparisons open after look k + 1."""
    seeds = {v: design.looks[0] for v in variants}
    for k, still_open in enumerate(open_after):
        if k + 1 >= len(design.looks):
            break
        for i in still_open:
            for v in (comparisons[i]["variant"], comparisons[i]["against"]):
                seeds[v] = max(seeds[v], design.looks[k + 1])
    return seeds


def judge_look(
    design: Design, k: int, comparisons, open_before, counts, images, weights, margin: float
) -> dict:
    """Look k (from 0) of the comparisons open before it: per comparison the paired
    test-accuracy differences over its first n_k seeds, as whole counts of images
    (``counts[variant][seed]``), and its decision. Two variants with the same weights
    on every seed computed the same thing: that comparison stops at once."""
    n = design.looks[k]
    judged = []
    for i in open_before:
        comp = comparisons[i]
        seeds = range(1, n + 1)
        diffs = [(counts[comp["variant"]][s] - counts[comp["against"]][s]) / images for s in seeds]
        if all(weights[comp["variant"]][s] == weights[comp["against"]][s] for s in seeds):
            entry = {"decision": "identical", "mean": 0.0}
        else:
            found = look(diffs, design, k, margin)
            entry = {
                "decision": found.decision,
                "mean": found.mean,
                "sd": float(np.std(diffs, ddof=1)),
                "interval": list(found.interval),
                "equivalence_interval": list(found.equivalence_interval),
                "conditional_power": found.conditional_power,
                "trainings_to_cap": 2 * (design.cap - n) if found.decision == "continue" else 0,
            }
        judged.append(
            {"index": i, "variant": comp["variant"], "against": comp["against"], "n": n, **entry}
        )
    still_open = [j for j in judged if j["decision"] == "continue"]
    # What going on to the cap costs: each variant of an open comparison trains up
    # to the cap (a shared reference once).
    going_on = {j[role] for j in still_open for role in ("variant", "against")}
    chances = [j["conditional_power"] for j in still_open]
    return {
        "look": k + 1,
        "n": n,
        "t_bounds": list(design.t_bounds(k)),
        "comparisons": judged,
        "open": [j["index"] for j in still_open],
        "trainings_to_cap": len(going_on) * (design.cap - n),
        # Every open comparison unlikely to be decided by the cap at the spread seen.
        "hopeless": bool(still_open) and max(chances) < HOPELESS_POWER,
        "best_chance": max(chances) if chances else None,
    }


def expected_trainings(
    design: Design, comparisons, variants, sd: float, margin: float, truth: float, studies=4000
) -> float:
    """Trainings the study is expected to run if every comparison's true difference
    is ``truth`` and its spread ``sd``, by simulation: each variant trains up to the
    last look of its longest-running comparison (comparisons independent)."""
    rng = np.random.default_rng(20261)
    stop_n = [simulated_sequences(design, truth, sd, margin, studies, rng)[1] for _ in comparisons]
    total = np.zeros(studies)
    for v in variants:
        used = np.full(studies, design.looks[0])
        for comp, n in zip(comparisons, stop_n):
            if v in (comp["variant"], comp["against"]):
                used = np.maximum(used, n)
        total += used
    return float(total.mean())


@lru_cache(maxsize=16)
def _level_curve(looks: tuple[int, ...]):
    """Each look's nominal two-sided level as a function of the design's alpha, on
    a grid (log-spaced), for inverting: alphas (G,), levels (G, K)."""
    # p-values below 1e-6 are reported as 1e-6, above 0.9 as 1.
    alphas = np.geomspace(1e-6, 0.9, 121)
    return alphas, np.array([nominal_levels(looks, float(a)) for a in alphas])


def repeated_p(p_fixed: float, design: Design, k: int, sides: int = 2) -> float:
    """The repeated p-value at look k (Jennison & Turnbull 1989): the smallest alpha
    at which the design's look-k repeated interval excludes the tested value, from
    the fixed-sample p-value of the same t statistic. ``sides=1`` for a one-sided
    p-value (a half of TOST), which the (1 - 2 alpha) repeated interval decides."""
    if math.isnan(p_fixed):
        return math.nan
    alphas, levels = _level_curve(design.looks)
    curve = levels[:, k]
    two_sided = min(1.0, p_fixed * (2 if sides == 1 else 1))
    if two_sided >= curve[-1]:
        return 1.0
    found = float(
        np.exp(np.interp(np.log(max(two_sided, curve[0])), np.log(curve), np.log(alphas)))
    )
    return found / 2 if sides == 1 else found


def histories(looks) -> dict[int, list[dict]]:
    """Each comparison's looks, in order, from the look files: index -> entries
    (look, n, decision, mean, intervals, conditional power), the last the one that
    stopped it (or the latest, while it is open)."""
    out: dict[int, list[dict]] = {}
    for taken in looks:
        for entry in taken["comparisons"]:
            out.setdefault(entry["index"], []).append({"look": taken["look"], **entry})
    return out
