"""One comparison on one metric: ``variant`` minus ``against``, paired by seed.

Three steps, each a small typed record: what the seeds give (``Pairing``: the
seeds both variants ran, their values and differences, identical weights, spread),
the tests of a pairing with spread (``PairedTest``: a 95% t interval and the paired
t test, TOST against the metric's margin, the smallest difference detectable, the
seeds a decision would take, where one more unpaired run would fall), and after
Holm over the family the verdict in words (``Words``). ``MetricComparison`` holds
them and is written to verdicts.json as one flat record (``to_json``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import paired, sequential
from .metrics import METRICS

# The p-values of a test, each Holm-corrected over its family.
P_VALUES = ("p", "p_equivalence", "p_beyond", "p_short_of_better", "p_short_of_worse")

# Losses are stored as float32: differences within a few units of its last place are
# the same number.
FLOAT32_RESOLUTION = 4 * float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class Settings:
    """How the verdicts are reached (config `statistics:`)."""

    alpha: float
    power: float
    margins: Mapping[str, float]

    @classmethod
    def from_config(cls, statistics_config: Mapping[str, Any]) -> "Settings":
        return cls(
            alpha=statistics_config["alpha"],
            power=statistics_config["power"],
            margins={m: v["margin"] for m, v in statistics_config["margins"].items()},
        )


@dataclass(frozen=True)
class Stopped:
    """Where a sequential comparison stopped: its design, the look (from 0) and the
    seeds of that look."""

    design: sequential.Design
    k: int
    n: int


@dataclass(frozen=True)
class Pairing:
    """What the seeds give before any test: the seeds both variants ran (up to the
    stopping look's), each one's values on them and the paired differences."""

    metric: str
    seeds: list[int]
    a: np.ndarray
    b: np.ndarray
    diffs: np.ndarray
    margin: float
    identical: bool  # the same weights on every seed: the same computation
    spread: bool  # the differences vary between seeds beyond float rounding

    @property
    def n(self) -> int:
        return len(self.diffs)

    def mean(self, values: np.ndarray) -> float:
        return float(values.mean()) if self.n else math.nan

    @property
    def testable(self) -> bool:
        return self.n >= 2 and not self.identical and self.spread


@dataclass(frozen=True)
class OriginalRun:
    """The original's single run of each variant on this metric, where it has both."""

    a: float | None = None
    b: float | None = None

    @property
    def diff(self) -> float | None:
        return None if self.a is None else self.a - self.b


@dataclass(frozen=True)
class PairedTest:
    """The tests of a pairing with spread: intervals (repeated ones in a sequential
    study), p-values, and the seeds it would take to decide."""

    sd: float
    interval: tuple[float, float]  # at 1 - alpha: is there a difference?
    equivalence_interval: tuple[float, float]  # at 1 - 2 alpha: TOST
    prediction: tuple[float, float]  # of one more unpaired difference
    p_values: Mapping[str, float]  # P_VALUES
    detectable: float
    seeds_for_margin: int | None
    seeds_for_original: int | None
    original_in_prediction: bool | None


@dataclass
class Words:
    """The verdict after Holm, and why; for a tested metric also which way it moved
    and what was shown."""

    verdict: str
    reason: str
    holm: Mapping[str, float] = field(default_factory=dict)
    direction: str | None = None
    different: bool = False
    equivalent: bool = False
    beyond_margin: bool = False


@dataclass
class MetricComparison:
    pairing: Pairing
    original: OriginalRun
    interval_name: str
    test: PairedTest | None = None
    words: Words | None = None

    @property
    def metric(self) -> str:
        return self.pairing.metric

    def to_json(self) -> dict[str, Any]:
        """verdicts.json's flat record, read by the report and the figures."""
        p, orig, test, words = self.pairing, self.original, self.test, self.words
        out: dict[str, Any] = {
            "metric": p.metric,
            "label": METRICS[p.metric].final_label,
            "n": p.n,
            "seeds": p.seeds,
            "variant_mean": p.mean(p.a),
            "against_mean": p.mean(p.b),
            "mean": p.mean(p.diffs),
            "margin": p.margin,
            "identical": p.identical,
            "interval_name": self.interval_name,
            "spread": p.spread,
            "tested": test is not None,
            "original_a": orig.a,
            "original_b": orig.b,
            "original_diff": orig.diff,
        }
        if test:
            out.update(
                sd=test.sd,
                low=test.interval[0],
                high=test.interval[1],
                eq_low=test.equivalence_interval[0],
                eq_high=test.equivalence_interval[1],
                pi_low=test.prediction[0],
                pi_high=test.prediction[1],
                **test.p_values,
                detectable=test.detectable,
                seeds_for_margin=test.seeds_for_margin,
                seeds_for_original=test.seeds_for_original,
                original_in_prediction=test.original_in_prediction,
            )
        if words:
            out.update({f"{key}_holm": value for key, value in words.holm.items()})
            if test:
                out.update(
                    direction=words.direction,
                    different=words.different,
                    equivalent=words.equivalent,
                    beyond_margin=words.beyond_margin,
                )
            out.update(verdict=words.verdict, reason=words.reason)
        return out


def _seed_values(metrics: pd.DataFrame, variant: str, column: str) -> pd.Series:
    return metrics[metrics["variant"] == variant].set_index("seed")[column]


def paired_values(metrics: pd.DataFrame, variant: str, against: str, metric: str):
    """The seeds both variants ran, each one's values on them, the paired differences
    and the resolution below which two differences are the same. An accuracy is taken
    as its whole count of correct images (float32 fractions such as 0.9866 would make
    equal counts differ in their last digits), so equal differences are exactly equal."""
    spec = METRICS[metric]
    a, b = _seed_values(metrics, variant, metric), _seed_values(metrics, against, metric)
    seeds = sorted(set(a.index) & set(b.index))
    a, b = a.loc[seeds].to_numpy(float), b.loc[seeds].to_numpy(float)
    if spec.images:
        images = _seed_values(metrics, variant, spec.images).loc[seeds].to_numpy(float)
        correct_a, correct_b = np.rint(a * images), np.rint(b * images)
        return seeds, correct_a / images, correct_b / images, (correct_a - correct_b) / images, 0.0
    scale = float(np.abs(np.concatenate([a, b])).max()) if seeds else 0.0
    return seeds, a, b, a - b, FLOAT32_RESOLUTION * scale


def pair_seeds(
    metrics: pd.DataFrame,
    variant: str,
    against: str,
    metric: str,
    margin: float,
    stopped: Stopped | None = None,
) -> Pairing:
    seeds, a, b, diffs, resolution = paired_values(metrics, variant, against, metric)
    if stopped is not None:  # a sequential comparison: the seeds of its stopping look
        keep = [i for i, s in enumerate(seeds) if s <= stopped.n]
        seeds, a, b, diffs = [seeds[i] for i in keep], a[keep], b[keep], diffs[keep]
    weights_a = _seed_values(metrics, variant, "weights_sha256")
    weights_b = _seed_values(metrics, against, "weights_sha256")
    return Pairing(
        metric=metric,
        seeds=seeds,
        a=a,
        b=b,
        diffs=diffs,
        margin=margin,
        identical=bool(seeds) and all(weights_a[s] == weights_b[s] for s in seeds),
        spread=paired.has_spread(diffs, resolution),
    )


def original_run(original, variant: str, against: str, metric: str) -> OriginalRun:
    orig_a, orig_b = (original or {}).get(variant), (original or {}).get(against)
    if orig_a and orig_b and metric in orig_a and metric in orig_b:
        return OriginalRun(orig_a[metric], orig_b[metric])
    return OriginalRun()


def _p_values(tested: np.ndarray, margin: float, higher_is_better: bool) -> dict[str, float]:
    # Signed so that "up" is the metric getting better.
    better = tested if higher_is_better else -tested
    return {
        "p": paired.p_difference(tested),
        "p_equivalence": paired.p_equivalence(tested, margin),
        "p_beyond": paired.p_beyond_margin(tested, margin),
        # One-sided halves of TOST: the variant shown not better (not worse) than
        # the reference by the margin or more; they contradict a claimed effect.
        "p_short_of_better": paired.p_below(better, margin),
        "p_short_of_worse": paired.p_below(-better, margin),
    }


def paired_test(
    pairing: Pairing, original: OriginalRun, settings: Settings, stopped: Stopped | None
) -> PairedTest:
    """The tests of a testable pairing. In a sequential study, the design's repeated
    intervals and repeated p-values, valid whatever look the study stopped at."""
    diffs, margin, alpha = pairing.diffs, pairing.margin, settings.alpha
    _, sd = paired.mean_sd(diffs)
    interval = paired.t_interval(diffs, 1 - alpha)
    equivalence = paired.t_interval(diffs, 1 - 2 * alpha)
    # The original's difference is of two separate runs, not a pair of one seed.
    prediction = paired.unpaired_prediction_interval(pairing.a, pairing.b, 1 - alpha)
    # A sequential design decides its primary metric with its spread floored:
    # its intervals and p-values take the same floor.
    tested = diffs
    if stopped is not None and pairing.metric == sequential.PRIMARY:
        tested = paired.with_min_sd(diffs, stopped.design.min_sd)
    p_values = _p_values(tested, margin, METRICS[pairing.metric].higher_is_better)
    if stopped is not None:
        interval, equivalence = sequential.repeated_intervals(tested, stopped.design, stopped.k)
        sides = {"p": 2, "p_beyond": 2, "p_equivalence": 1}
        p_values = {
            key: sequential.repeated_p(p, stopped.design, stopped.k, sides.get(key, 1))
            for key, p in p_values.items()
        }
    mean, n = pairing.mean(diffs), pairing.n
    return PairedTest(
        sd=sd,
        interval=interval,
        equivalence_interval=equivalence,
        prediction=prediction,
        p_values=p_values,
        detectable=paired.detectable_difference(sd, n, alpha, settings.power),
        seeds_for_margin=(
            paired.seeds_needed(
                lambda k: paired.power_equivalence(mean, margin, sd, k, alpha), settings.power
            )
            if abs(mean) < margin
            else None
        ),
        seeds_for_original=(
            paired.seeds_needed(
                lambda k: paired.power_difference(original.diff, sd, k, alpha), settings.power
            )
            if original.diff
            else None
        ),
        original_in_prediction=(
            prediction[0] <= original.diff <= prediction[1] if original.a is not None else None
        ),
    )


def compare_metric(
    metrics: pd.DataFrame,
    variant: str,
    against: str,
    metric: str,
    settings: Settings,
    original: Mapping[str, Mapping[str, float]] | None = None,
    stopped: Stopped | None = None,
) -> MetricComparison:
    """``variant`` minus ``against`` on ``metric``, paired by seed: every number a
    verdict needs. The words come later, from ``word_results``, after Holm.
    ``stopped``: the design and the look that stopped a sequential comparison."""
    pairing = pair_seeds(metrics, variant, against, metric, settings.margins[metric], stopped)
    orig = original_run(original, variant, against, metric)
    result = MetricComparison(pairing, orig, "interval" if stopped is None else "repeated interval")
    if pairing.testable:
        result.test = paired_test(pairing, orig, settings, stopped)
    return result


def word_results(results: list[MetricComparison], alpha: float) -> None:
    """Holm over one family (the metrics of a comparison or a claim), then words."""
    tested = [r for r in results if r.test]
    holm = {id(r): {} for r in tested}
    for key in P_VALUES:
        for r, adjusted in zip(tested, paired.holm([r.test.p_values[key] for r in tested])):
            holm[id(r)][key] = adjusted
    for r in results:
        r.words = (
            _tested_words(r, holm[id(r)], alpha, len(tested)) if r.test else _untested_words(r)
        )


def _untested_words(r: MetricComparison) -> Words:
    p = r.pairing
    if p.identical:
        return Words("not tested", identical_reason(p.seeds))
    if p.n >= 2 and not p.spread:
        return Words("not testable", no_spread_reason(p))
    return Words(
        "no verdict",
        f"{p.n} shared seed{'s' if p.n != 1 else ''}: the noise between seeds "
        "cannot be measured, so no difference can be called real",
    )


def _tested_words(r: MetricComparison, holm: dict, alpha: float, family: int) -> Words:
    spec, p, test = METRICS[r.metric], r.pairing, r.test
    margin = spec.format(p.margin)
    words = Words(
        verdict="",
        reason="",
        holm=holm,
        direction="better" if (p.mean(p.diffs) > 0) == spec.higher_is_better else "worse",
        different=holm["p"] < alpha,
        equivalent=holm["p_equivalence"] < alpha,
        beyond_margin=holm["p_beyond"] < alpha,
    )
    if words.different and words.equivalent:
        words.verdict = f"{words.direction}, by less than ±{margin}"
    elif words.different:
        words.verdict = words.direction
    elif words.equivalent:
        words.verdict = f"equivalent within ±{margin}"
    else:
        words.verdict = "inconclusive"
    reach = max(map(abs, test.equivalence_interval))
    interval = (
        f"the {paired.interval_levels(alpha)[1]} {r.interval_name} reaches {spec.format(reach)}"
    )
    if words.different or words.equivalent:
        words.reason = ""
    elif reach < p.margin:
        words.reason = (
            f"{interval}, inside ±{margin} on its own but not after Holm's correction "
            f"over {family} metrics"
        )
    else:
        words.reason = f"{interval}, beyond the ±{margin} margin"
    return words


def no_spread_reason(p: Pairing) -> str:
    return (
        f"no spread: the difference is {METRICS[p.metric].format(p.mean(p.diffs), True)} on "
        f"every one of the {p.n} seeds, so the noise between seeds cannot be estimated and "
        "no test applies (a constant difference is not an exact one)"
    )


def identical_reason(seeds) -> str:
    return (
        f"identical training: both variants ended with the same weights on every seed "
        f"({', '.join(map(str, seeds))}), so they computed the same thing and there is "
        "nothing to compare"
    )
