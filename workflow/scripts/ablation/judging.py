"""Verdicts: each comparison and each claim of the original, judged from the seeds.

A comparison is ``variant`` minus ``against``, paired by seed, on several metrics.
Per metric: a 95% t interval and the paired t test (is there a difference?), TOST
against the metric's equivalence margin (is any difference smaller than the
margin?), the smallest difference this many seeds detects, and where one more run
would fall (a prediction interval), to set the original's single run against.
Over the metrics of one comparison or claim, Holm's correction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import looks, paired, sequential
from .metrics import COMPARED, METRICS

CLAIM_EXPECTATIONS = ("better", "worse", "no difference")
OPPOSITE = {"better": "worse", "worse": "better"}

# The study's set-up, against the original's (reference `setup:`), key by key.
SETUP_KEYS = {
    "dataset": "dataset",
    "train_images": "training images",
    "validation_images": "validation images",
    "test_images": "test images",
    "epochs": "epochs",
    "batch_size": "batch size",
}


@dataclass(frozen=True)
class Stopped:
    """Where a sequential comparison stopped: its design, the look (from 0) and the
    seeds of that look."""

    design: sequential.Design
    k: int
    n: int


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


def _seed_values(metrics: pd.DataFrame, variant: str, column: str) -> pd.Series:
    return metrics[metrics["variant"] == variant].set_index("seed")[column]


# Losses are stored as float32: differences within a few units of its last place are
# the same number.
FLOAT32_RESOLUTION = 4 * float(np.finfo(np.float32).eps)


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


def compare_metric(
    metrics: pd.DataFrame,
    variant: str,
    against: str,
    metric: str,
    settings: Settings,
    original: Mapping[str, Mapping[str, float]] | None = None,
    stopped: "Stopped | None" = None,
) -> dict[str, Any]:
    """``variant`` minus ``against`` on ``metric``, paired by seed: every number a
    verdict needs. The words come later, from ``word_results``, after Holm.

    In a sequential study (``stopped``: the design and the look that stopped this
    comparison), over the seeds of that look only, with the design's repeated
    intervals and repeated p-values, valid whatever look the study stopped at."""
    spec = METRICS[metric]
    seeds, a, b, diffs, resolution = paired_values(metrics, variant, against, metric)
    if stopped is not None:
        keep = [i for i, s in enumerate(seeds) if s <= stopped.n]
        seeds, a, b, diffs = [seeds[i] for i in keep], a[keep], b[keep], diffs[keep]
    n, margin = len(diffs), settings.margins[metric]
    weights_a = _seed_values(metrics, variant, "weights_sha256")
    weights_b = _seed_values(metrics, against, "weights_sha256")
    result: dict[str, Any] = {
        "metric": metric,
        "label": spec.final_label,
        "n": n,
        "seeds": seeds,
        "variant_mean": float(a.mean()) if n else math.nan,
        "against_mean": float(b.mean()) if n else math.nan,
        "mean": float(diffs.mean()) if n else math.nan,
        "margin": margin,
        "identical": bool(n) and all(weights_a[s] == weights_b[s] for s in seeds),
        # A sequential study's intervals are the design's repeated ones.
        "interval_name": "interval" if stopped is None else "repeated interval",
        "spread": paired.has_spread(diffs, resolution),
        "tested": False,
    }
    orig_a, orig_b = (original or {}).get(variant), (original or {}).get(against)
    have_original = bool(orig_a and orig_b and metric in orig_a and metric in orig_b)
    result["original_a"] = orig_a[metric] if have_original else None
    result["original_b"] = orig_b[metric] if have_original else None
    result["original_diff"] = orig_a[metric] - orig_b[metric] if have_original else None
    if n < 2 or result["identical"] or not result["spread"]:
        return result
    alpha = settings.alpha
    _, sd = paired.mean_sd(diffs)
    low, high = paired.t_interval(diffs, 1 - alpha)
    eq_low, eq_high = paired.t_interval(diffs, 1 - 2 * alpha)
    # The original's difference is of two separate runs, not a pair of one seed.
    pi_low, pi_high = paired.unpaired_prediction_interval(a, b, 1 - alpha)
    # A sequential design decides its primary metric with its spread floored:
    # its intervals and p-values take the same floor.
    tested = diffs
    if stopped is not None and metric == sequential.PRIMARY:
        tested = paired.with_min_sd(diffs, stopped.design.min_sd)
    # Signed so that "up" is the metric getting better.
    better = tested if spec.higher_is_better else -tested
    p_values = {
        "p": paired.p_difference(tested),
        "p_equivalence": paired.p_equivalence(tested, margin),
        "p_beyond": paired.p_beyond_margin(tested, margin),
        # One-sided halves of TOST: the variant shown not better (not worse) than
        # the reference by the margin or more; they contradict a claimed effect.
        "p_short_of_better": paired.p_below(better, margin),
        "p_short_of_worse": paired.p_below(-better, margin),
    }
    if stopped is not None:
        (low, high), (eq_low, eq_high) = sequential.repeated_intervals(
            tested, stopped.design, stopped.k
        )
        sides = {"p": 2, "p_beyond": 2, "p_equivalence": 1}
        p_values = {
            key: sequential.repeated_p(p, stopped.design, stopped.k, sides.get(key, 1))
            for key, p in p_values.items()
        }
    result.update(
        tested=True,
        sd=sd,
        low=low,
        high=high,
        eq_low=eq_low,
        eq_high=eq_high,
        pi_low=pi_low,
        pi_high=pi_high,
        **p_values,
        detectable=paired.detectable_difference(sd, n, alpha, settings.power),
        seeds_for_margin=(
            paired.seeds_needed(
                lambda k: paired.power_equivalence(result["mean"], margin, sd, k, alpha),
                settings.power,
            )
            if abs(result["mean"]) < margin
            else None
        ),
        seeds_for_original=(
            paired.seeds_needed(
                lambda k: paired.power_difference(result["original_diff"], sd, k, alpha),
                settings.power,
            )
            if result["original_diff"]
            else None
        ),
    )
    result["original_in_prediction"] = (
        pi_low <= result["original_diff"] <= pi_high if have_original else None
    )
    return result


def word_results(results: list[dict[str, Any]], alpha: float) -> None:
    """Holm over one family (the metrics of a comparison or a claim), then words."""
    tested = [r for r in results if r["tested"]]
    for key in ("p", "p_equivalence", "p_beyond", "p_short_of_better", "p_short_of_worse"):
        for r, adjusted in zip(tested, paired.holm([r[key] for r in tested])):
            r[f"{key}_holm"] = adjusted
    for r in results:
        spec = METRICS[r["metric"]]
        margin = spec.format(r["margin"])
        if r["identical"]:
            r["verdict"], r["reason"] = "not tested", identical_reason(r["seeds"])
            continue
        if r["n"] >= 2 and not r["spread"]:
            r["verdict"], r["reason"] = "not testable", no_spread_reason(r)
            continue
        if not r["tested"]:
            r["verdict"] = "no verdict"
            r["reason"] = (
                f"{r['n']} shared seed{'s' if r['n'] != 1 else ''}: the noise between seeds "
                "cannot be measured, so no difference can be called real"
            )
            continue
        better = (r["mean"] > 0) == spec.higher_is_better
        r["direction"] = "better" if better else "worse"
        r["different"] = r["p_holm"] < alpha
        r["equivalent"] = r["p_equivalence_holm"] < alpha
        r["beyond_margin"] = r["p_beyond_holm"] < alpha
        reach = max(abs(r["eq_low"]), abs(r["eq_high"]))
        if r["different"] and r["equivalent"]:
            r["verdict"] = f"{r['direction']}, by less than ±{margin}"
        elif r["different"]:
            r["verdict"] = r["direction"]
        elif r["equivalent"]:
            r["verdict"] = f"equivalent within ±{margin}"
        else:
            r["verdict"] = "inconclusive"
        level = paired.interval_levels(alpha)[1]
        interval = f"the {level} {r['interval_name']} reaches {spec.format(reach)}"
        if r["different"] or r["equivalent"]:
            r["reason"] = ""
        elif reach < r["margin"]:
            r["reason"] = (
                f"{interval}, inside ±{margin} on its own but not after Holm's correction "
                f"over {len(tested)} metrics"
            )
        else:
            r["reason"] = f"{interval}, beyond the ±{margin} margin"


def no_spread_reason(r) -> str:
    return (
        f"no spread: the difference is {METRICS[r['metric']].format(r['mean'], True)} on every "
        f"one of the {r['n']} seeds, so the noise between seeds cannot be estimated and no "
        "test applies (a constant difference is not an exact one)"
    )


def identical_reason(seeds) -> str:
    return (
        f"identical training: both variants ended with the same weights on every seed "
        f"({', '.join(map(str, seeds))}), so they computed the same thing and there is "
        "nothing to compare"
    )


def compare(
    metrics, comparison, settings: Settings, original=None, stopped: Stopped | None = None
) -> dict[str, Any]:
    """One configured comparison, on every metric of COMPARED."""
    results = [
        compare_metric(
            metrics, comparison["variant"], comparison["against"], m, settings, original, stopped
        )
        for m in COMPARED
    ]
    word_results(results, settings.alpha)
    size = {
        role: metrics[metrics["variant"] == comparison[role]].iloc[0]
        for role in ("variant", "against")
    }
    params = {
        role: {"total": int(row["total_params"]), "flatten": int(row["flatten_width"])}
        for role, row in size.items()
    }
    ratio = params["variant"]["total"] / params["against"]["total"]
    return {
        **comparison,
        "results": results,
        "identical": all(r["identical"] for r in results),
        "params": params,
        "params_ratio": ratio,
        # The change also reshapes the dense head, or the model's size moves a lot.
        "head_differs": params["variant"]["flatten"] != params["against"]["flatten"],
        "confounded": params["variant"]["flatten"] != params["against"]["flatten"]
        or not 0.8 <= ratio <= 1.25,
    }


def judge_claim(
    metrics: pd.DataFrame, claim, settings: Settings, original=None, stopped: Stopped | None = None
) -> dict:
    """One claim of the original against this study's seeds.

    Better / worse claims are *contradicted* when any metric differs the other way
    after Holm, or when any is shown, one-sided after Holm, to move the claimed way
    by less than its margin if at all: a negligible effect contradicts the claim of
    an effect, even where it is real (NEGLIGIBLE); else *supported* when every
    metric differs the claimed way at level alpha (all must pass, so no correction
    is needed), else *not shown*. A claim of
    no difference is *equivalent* when every metric passes TOST within its margin,
    *contradicted* when any metric's difference exceeds its margin after Holm, else
    *not shown equivalent*. Nothing is judged on one seed, on differences without
    spread between seeds, nor between two variants that trained identically.
    """
    expect = claim["expect"]
    if expect not in CLAIM_EXPECTATIONS:
        raise ValueError(f"claim {claim['id']!r}: expect must be one of {CLAIM_EXPECTATIONS}")
    out: dict[str, Any] = {**claim, "results": [], "status": "", "reason": "", "own_numbers": []}
    present = set(metrics["variant"])
    missing = [v for v in (claim["variant"], claim["against"]) if v not in present]
    if missing:
        out["status"] = "not tested"
        out["reason"] = f"variant {', '.join(missing)} is not in this study"
        return out
    results = [
        compare_metric(metrics, claim["variant"], claim["against"], m, settings, original, stopped)
        for m in claim["metrics"]
    ]
    word_results(results, settings.alpha)
    out["results"] = results
    out["own_numbers"] = own_numbers_note(claim, original or {}, settings)
    alpha = settings.alpha
    if any(r["identical"] for r in results):
        out["status"], out["reason"] = "not tested", identical_reason(results[0]["seeds"])
    elif not all(r["tested"] for r in results):
        untested = next(r for r in results if not r["tested"])
        out["status"] = "cannot be judged"
        out["reason"] = (
            f"{untested['metric']}: {untested['reason']}"
            if untested["n"] >= 2
            else untested["reason"]
        )
    elif expect == "no difference":
        beyond = [r for r in results if r["beyond_margin"]]
        if beyond:
            out["status"] = "contradicted"
            out["reason"] = "; ".join(
                f"{r['metric']} differs by more than ±{METRICS[r['metric']].format(r['margin'])}"
                for r in beyond
            )
        elif all(r["p_equivalence"] < alpha for r in results):
            out["status"] = "equivalent"
            out["reason"] = "every metric within its margin"
        else:
            out["status"] = "not shown equivalent"
            out["reason"] = "; ".join(
                f"{r['metric']}: {r['reason'] or r['verdict']}"
                for r in results
                if r["p_equivalence"] >= alpha
            )
    else:
        opposite = [r for r in results if r["different"] and r["direction"] == OPPOSITE[expect]]
        # Shown smaller than the margin the claimed way: the effect is negligible.
        short = [r for r in results if r[f"p_short_of_{expect}_holm"] < alpha]
        if opposite:
            out["status"] = "contradicted"
            out["reason"] = (
                ", ".join(r["metric"] for r in opposite) + f" came out {OPPOSITE[expect]}"
            )
        elif short:
            out["status"] = "contradicted"
            out["reason"] = "; ".join(
                f"{r['metric']}: {expect} by less than {_margin(r)}"
                + (" (real, but negligible)" if r["p"] < alpha and r["direction"] == expect
                   else " if at all")
                + f" (one-sided test against the margin, p {r[f'p_short_of_{expect}_holm']:.3f} "
                "after Holm)"
                for r in short
            )  # fmt: skip
        elif all(r["p"] < alpha and r["direction"] == expect for r in results):
            out["status"] = "supported"
            out["reason"] = ""
        else:
            out["status"] = "not shown"
            out["reason"] = "; ".join(
                f"{r['metric']}: {r['verdict']}, detectable from "
                f"{METRICS[r['metric']].format(r['detectable'])}"
                for r in results
                if not (r["p"] < alpha and r["direction"] == expect)
            )
    return out


def unplanned_claim(claim) -> dict[str, Any]:
    """A claim on two variants a sequential design does not compare: their seeds were
    added for other comparisons' sake, so no test of them holds its level."""
    return {
        **claim,
        "results": [],
        "status": "not tested",
        "reason": f"the sequential design does not compare {claim['variant']} with "
        f"{claim['against']}",
        "own_numbers": [],
    }


def _margin(r) -> str:
    return METRICS[r["metric"]].format(r["margin"])


def own_numbers_note(claim, original, settings: Settings) -> list[str]:
    """Where the original's own single-run numbers disagree with its claim."""
    orig_a, orig_b = original.get(claim["variant"]), original.get(claim["against"])
    if not (orig_a and orig_b):
        return []
    expect = claim["expect"]
    checked = list(claim["metrics"])
    if expect != "no difference" and "test_accuracy" not in checked:
        checked.append("test_accuracy")  # "better" should show on the test set too
    notes = []
    for metric in checked:
        if metric not in orig_a or metric not in orig_b:
            continue
        spec, diff = METRICS[metric], orig_a[metric] - orig_b[metric]
        numbers = (
            f"{metric} {orig_a[metric]:.4f} vs {orig_b[metric]:.4f} ({spec.format(diff, True)})"
        )
        if expect == "no difference" and abs(diff) > settings.margins[metric]:
            notes.append(f"{numbers}, beyond ±{spec.format(settings.margins[metric])}")
        elif expect != "no difference" and diff != 0:
            if ((diff > 0) == spec.higher_is_better) != (expect == "better"):
                notes.append(f"{numbers}: {OPPOSITE[expect]}, not {expect}")
    return notes


def setup_differences(study: Mapping[str, Any], original: Mapping[str, Any]) -> list[str]:
    """The set-up keys where this study differs from the original's."""
    return [
        f"{label}: {study[key]} here, {original[key]} in the original"
        for key, label in SETUP_KEYS.items()
        if key in original and study.get(key) != original[key]
    ]


def judge(
    metrics: pd.DataFrame,
    comparisons: list[dict],
    reference: Mapping[str, Any],
    study: Mapping[str, Any],
    settings: Settings,
    sequence: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every comparison and claim; the original's numbers (``original``, per variant)
    used, and shown by the figures and the report, only where this study's set-up
    is the original's. A sequential study's ``sequence`` (its design and the looks
    taken) says where each comparison stopped; each is judged there, and so is a
    claim on the same two variants."""
    mismatch = setup_differences(study, reference.get("setup", {}))
    original = {} if mismatch else reference.get("variants", {})
    histories = looks.histories(sequence["looks"]) if sequence else {}
    stops = {}
    if sequence:
        design = sequential.Design.from_dict(sequence["design"])
        for i, c in enumerate(comparisons):
            last = histories[i][-1]
            stops[(c["variant"], c["against"])] = Stopped(design, last["look"] - 1, last["n"])
    judged_comparisons = []
    for i, c in enumerate(comparisons):
        judged_comparisons.append(
            compare(metrics, c, settings, original, stops.get((c["variant"], c["against"])))
        )
        if sequence:
            judged_comparisons[-1]["sequence"] = histories[i]
    return {
        "setup_differences": mismatch,
        "original": original,
        "alpha": settings.alpha,
        "power": settings.power,
        "sequential": (
            {**sequence["design"], "outlook": outlook(sequence["looks"])} if sequence else None
        ),
        "comparisons": judged_comparisons,
        "claims": [
            (
                judge_claim(metrics, c, settings, original, stops.get((c["variant"], c["against"])))
                if not sequence or (c["variant"], c["against"]) in stops
                else unplanned_claim(c)
            )
            for c in reference.get("claims", [])
        ],
        "not_checkable": reference.get("not_checkable", []),
        "notes": reference.get("notes", []),
    }


def outlook(looks) -> list[dict[str, Any]]:
    """After each look that left comparisons open: how many, the best chance of one
    being decided by the cap at the spread seen, the trainings going on would take,
    and whether the cap looks hopeless for all of them."""
    return [
        {
            "look": taken["look"],
            "n": taken["n"],
            "open": len(taken["open"]),
            "best_chance": taken.get("best_chance"),
            "trainings_to_cap": taken.get("trainings_to_cap"),
            "hopeless": taken.get("hopeless", False),
        }
        for taken in looks
        if taken["open"]
    ]


def json_safe(value):
    """NaN and infinities as null: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
