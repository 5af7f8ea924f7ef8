"""The sequential design simulated: its error rates, power and seeds under normal,
heavy-tailed and skewed seed spreads (the design file's and the report's table),
and the trainings a study is expected to take. The rule simulated is the one the
study's looks apply (sequential.decide_all)."""

from __future__ import annotations

import numpy as np

from . import paired
from .sequential import Design, decide_all

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
    return paired.seeds_needed(lambda n: paired.power_difference(target, sd, n, alpha), power)


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
