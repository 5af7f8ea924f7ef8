"""Verdicts: each comparison and each claim of the original, judged from the seeds
(rule verdicts, results/verdicts.json).

A comparison is ``variant`` minus ``against``, paired by seed, on every metric of
COMPARED (ablation/metric_comparison.py), with Holm's correction over them; a claim
is judged by ablation/claims.py. Here: the study's set-up against the original's
(its numbers are used only where they match), where a sequential study stopped
each comparison, and what a look left open.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import pandas as pd

from . import looks, sequential
from .claims import judge_claim, unplanned_claim
from .metric_comparison import Settings, Stopped, compare_metric, word_results
from .metrics import COMPARED

# The study's set-up, against the original's (reference `setup:`), key by key.
SETUP_KEYS = {
    "dataset": "dataset",
    "train_images": "training images",
    "validation_images": "validation images",
    "test_images": "test images",
    "epochs": "epochs",
    "batch_size": "batch size",
}


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
        "results": [r.to_json() for r in results],
        "identical": all(r.pairing.identical for r in results),
        "params": params,
        "params_ratio": ratio,
        # The change also reshapes the dense head, or the model's size moves a lot.
        "head_differs": params["variant"]["flatten"] != params["against"]["flatten"],
        "confounded": params["variant"]["flatten"] != params["against"]["flatten"]
        or not 0.8 <= ratio <= 1.25,
    }


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
