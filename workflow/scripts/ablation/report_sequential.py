"""A sequential study's part of report.md: its design's boundaries per look, the
simulated operating characteristics, and why each comparison stopped where it did."""

from __future__ import annotations

import math
from typing import Any, Mapping

from . import paired
from .metrics import METRICS

STOP_REASONS = {
    "different": "its {level} repeated interval excludes zero",
    "equivalent": "its {eq_level} repeated interval lies inside ±{margin}",
    "futile": (
        "futility: the chance of deciding it by the cap, if the difference and spread "
        "are those seen, was {power} (below {futility})"
    ),
    "not decided": (
        "not decided within {cap} seeds: its {level} repeated interval, {low} to {high}, "
        "still holds zero, and the {eq_level} one reaches past ±{margin}; differences "
        "outside {low} to {high} are excluded"
    ),
    "not testable": (
        "not testable: its seeds show no spread at all, so there is no estimate of the "
        "noise, and a constant difference is not an infinitely precise one"
    ),
    "identical": "identical training: both variants ended with the same weights on every seed",
}


def sequential_context(judged: Mapping[str, Any]) -> dict[str, Any] | None:
    """A sequential study's design and looks as the report shows them: the
    boundaries per look, the simulated operating characteristics (flagged where a
    rate is over alpha), and per comparison its looks and why it stopped."""
    design = judged.get("sequential")
    if not design:
        return None
    alpha = design["alpha"]
    spec = METRICS[design["primary_metric"]]
    fmt = lambda v, signed=False: spec.format(v, signed)  # noqa: E731
    level, eq_level = paired.interval_levels(alpha)
    levels = {"level": level, "eq_level": eq_level}
    # A rate counts as over alpha beyond what the simulation itself cannot tell apart.
    monte_carlo = 3 * math.sqrt(alpha * (1 - alpha) / design["planning_studies"])
    characteristics = []
    for case, rates in design["operating_characteristics"].items():
        error = "equivalent" if "the margin" in case else "different"
        characteristics.append(
            {
                "case": case,
                **rates,
                "error": error if not case.startswith("at the target") else None,
                "over_alpha": not case.startswith("at the target")
                and rates[error] > alpha + monte_carlo,
            }
        )
    comparisons = []
    for comp in judged["comparisons"]:
        looks = comp.get("sequence", [])
        last = looks[-1]
        low, high = last.get("interval", (None, None))
        reason = STOP_REASONS[last["decision"]].format(
            **levels,
            margin=fmt(design["margin"]),
            power=f"{100 * last.get('conditional_power', 0):.1f}%",
            futility=f"{100 * design['futility']:g}%",
            cap=design["looks"][-1],
            low=fmt(low, True),
            high=fmt(high, True),
        )
        comparisons.append(
            {
                "name": f"{comp['variant']} vs {comp['against']}",
                "looks": looks,
                "stopped": last,
                "reason": reason,
                "seeds_used": last["n"],
            }
        )
    amendment = design.get("amendment")
    return {
        **design,
        **levels,
        "amendment": amendment,
        "amendment_changes": (
            "; ".join(
                f"{key} {before} → {after}" for key, (before, after) in amendment["changes"].items()
            )
            if amendment
            else ""
        ),
        "studies": design["planning_studies"],
        "monte_carlo": monte_carlo,
        "boundary_rows": [
            {
                "look": k + 1,
                "seeds": n,
                "z": design["z_boundaries"][k],
                "nominal_p": design["nominal_p"][k],
                "z_equivalence": design["z_boundaries_equivalence"][k],
                "nominal_p_equivalence": design["nominal_p_equivalence"][k],
            }
            for k, n in enumerate(design["looks"])
        ],
        "characteristics": characteristics,
        "any_over_alpha": any(c["over_alpha"] for c in characteristics),
        "comparisons": comparisons,
    }
