"""The original's claims, each judged against this study's seeds.

Better / worse claims are *contradicted* when any metric differs the other way
after Holm, or when any is shown, one-sided after Holm, to move the claimed way by
less than its margin if at all: a negligible effect contradicts the claim of an
effect, even where it is real; else *supported* when every metric differs the
claimed way at level alpha (all must pass, so no correction is needed), else *not
shown*. A claim of no difference is *equivalent* when every metric passes TOST
within its margin, *contradicted* when any metric's difference exceeds its margin
after Holm, else *not shown equivalent*. Nothing is judged on one seed, on
differences without spread between seeds, nor between two variants that trained
identically.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .metric_comparison import (
    MetricComparison,
    Settings,
    Stopped,
    compare_metric,
    identical_reason,
    word_results,
)
from .metrics import METRICS

CLAIM_EXPECTATIONS = ("better", "worse", "no difference")
OPPOSITE = {"better": "worse", "worse": "better"}


def judge_claim(
    metrics: pd.DataFrame, claim, settings: Settings, original=None, stopped: Stopped | None = None
) -> dict[str, Any]:
    """One claim of the original against this study's seeds (the module's rules),
    as verdicts.json records it."""
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
    if any(r.pairing.identical for r in results):
        status, reason = "not tested", identical_reason(results[0].pairing.seeds)
    elif not all(r.test for r in results):
        untested = next(r for r in results if not r.test)
        status = "cannot be judged"
        reason = untested.words.reason
        reason = f"{untested.metric}: {reason}" if untested.pairing.n >= 2 else reason
    elif expect == "no difference":
        status, reason = _no_difference(results, settings.alpha)
    else:
        status, reason = _an_effect(results, expect, settings.alpha)
    out.update(
        results=[r.to_json() for r in results],
        status=status,
        reason=reason,
        own_numbers=own_numbers_note(claim, original or {}, settings),
    )
    return out


def _no_difference(results: list[MetricComparison], alpha: float) -> tuple[str, str]:
    beyond = [r for r in results if r.words.beyond_margin]
    if beyond:
        return "contradicted", "; ".join(
            f"{r.metric} differs by more than ±{_margin(r)}" for r in beyond
        )
    if all(r.test.p_values["p_equivalence"] < alpha for r in results):
        return "equivalent", "every metric within its margin"
    return "not shown equivalent", "; ".join(
        f"{r.metric}: {r.words.reason or r.words.verdict}"
        for r in results
        if r.test.p_values["p_equivalence"] >= alpha
    )


def _an_effect(results: list[MetricComparison], expect: str, alpha: float) -> tuple[str, str]:
    def shown(r):  # differs the claimed way at level alpha
        return r.test.p_values["p"] < alpha and r.words.direction == expect

    opposite = [r for r in results if r.words.different and r.words.direction == OPPOSITE[expect]]
    # Shown smaller than the margin the claimed way: the effect is negligible.
    short = [r for r in results if r.words.holm[f"p_short_of_{expect}"] < alpha]
    if opposite:
        return "contradicted", ", ".join(r.metric for r in opposite) + (
            f" came out {OPPOSITE[expect]}"
        )
    if short:
        return "contradicted", "; ".join(
            f"{r.metric}: {expect} by less than {_margin(r)}"
            + (" (real, but negligible)" if shown(r) else " if at all")
            + f" (one-sided test against the margin, p {r.words.holm[f'p_short_of_{expect}']:.3f} "
            "after Holm)"
            for r in short
        )
    if all(shown(r) for r in results):
        return "supported", ""
    return "not shown", "; ".join(
        f"{r.metric}: {r.words.verdict}, detectable from "
        f"{METRICS[r.metric].format(r.test.detectable)}"
        for r in results
        if not shown(r)
    )


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


def _margin(r: MetricComparison) -> str:
    return METRICS[r.metric].format(r.pairing.margin)


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
