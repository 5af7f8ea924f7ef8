"""Sequential designs side by side, by simulation (statistics only, no training):
which looks, futility rule and spread floor the default `sequential:` should have.

    .venv/bin/python benchmarks/sequential_designs.py [--studies 100000]

For each candidate (looks, the first look at which futility may stop, min_sd) and
each noise of ablation.sequential_simulation.NOISES: false "different" under no difference,
false "equivalent" at the margin (the worse of +-margin), power at the target (0.3
pp, planning sd 0.3 pp, margin 0.2 pp, alpha 0.05), the mean seeds used with no
difference and at the target, and what each look decides at the target (the share
of comparisons stopped there). The same random stream for every candidate, so the
rows compare like for like.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from ablation import sequential, sequential_simulation  # noqa: E402

SD, MARGIN, TARGET, OUTLIER = 0.003, 0.002, 0.003, 0.004

CANDIDATES = [
    # name, first_look, seeds_per_look, futility, first df a futility stop may use, min_sd
    ("before: looks 3-12, futility from 2 df, no floor", 3, 3, 0.1, 2, 0.0),
    ("looks 3-12, futility from 2 df, floor 0.2 pp", 3, 3, 0.1, 2, 0.002),
    ("looks 3-12, futility from 5 df, no floor", 3, 3, 0.1, 5, 0.0),
    ("looks 3-12, futility from 5 df, floor 0.2 pp (default)", 3, 3, 0.1, 5, 0.002),
    ("looks 3-12, no futility, floor 0.2 pp", 3, 3, 0.0, 5, 0.002),
    ("looks 6, 9, 12, futility from 5 df, floor 0.2 pp", 6, 3, 0.1, 5, 0.002),
    ("looks 4, 8, 12, futility from 5 df, floor 0.2 pp", 4, 4, 0.1, 5, 0.002),
]


def per_look(design, truth, sd, studies, rng):
    """The share of comparisons each look stops, under normal noise."""
    d = rng.normal(truth, sd, size=(studies, design.cap))
    _, seeds = sequential.decide_all(d, design, MARGIN)
    decisions, _ = sequential.decide_all(d, design, MARGIN)
    return [float(np.mean((seeds == n) & (decisions != "not decided"))) for n in design.looks]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=sequential_simulation.PLANNING_STUDIES)
    args = parser.parse_args()
    print(f"{args.studies:,} simulated comparisons per cell\n")
    print(
        "| design | false different (normal / worst other) | false equivalent (normal / "
        "worst other) | power at 0.3 pp | mean seeds, none / 0.3 pp | stopped at each look, "
        "0.3 pp |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for name, first, step, futility, futility_df, min_sd in CANDIDATES:
        sequential.MIN_FUTILITY_DF = futility_df  # a setting of the candidate
        design = sequential.Design.from_config(
            {"first_look": first, "seeds_per_look": step, "cap": 12, "futility": futility,
             "min_sd": min_sd},
            0.05,
        )  # fmt: skip
        rates = {}
        for tails, scale, share, one_sided in sequential_simulation.NOISES:
            for case, truth in (("none", 0.0), ("margin", MARGIN), ("-margin", -MARGIN),
                                ("target", TARGET)):  # fmt: skip
                rng = np.random.default_rng(20260)
                rates[tails, case] = sequential_simulation.simulate(
                    design, truth, SD * scale, MARGIN, args.studies, rng, share, OUTLIER,
                    one_sided,
                )  # fmt: skip
        others = [t for t, *_ in sequential_simulation.NOISES if t != "normal"]
        diff_other = max(rates[t, "none"]["different"] for t in others)
        eq = lambda t: max(rates[t, c]["equivalent"] for c in ("margin", "-margin"))  # noqa: E731
        looks = per_look(design, TARGET, SD, args.studies, np.random.default_rng(7))
        print(
            f"| {name} | {rates['normal', 'none']['different']:.4f} / {diff_other:.4f} "
            f"| {eq('normal'):.4f} / {max(eq(t) for t in others):.4f} "
            f"| {rates['normal', 'target']['different']:.3f} "
            f"| {rates['normal', 'none']['expected_seeds']:.2f} / "
            f"{rates['normal', 'target']['expected_seeds']:.2f} "
            f"| {', '.join(f'{n}: {s:.3f}' for n, s in zip(design.looks, looks))} |"
        )


if __name__ == "__main__":
    main()
