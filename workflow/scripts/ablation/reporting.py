"""report.md's context: everything it shows, computed from the results.

Every verdict is computed by rule verdicts (ablation/judging.py) and read here from
verdicts.json; the template (workflow/templates/report.md.j2) only lays them out.
Beside this: a sequential study's part (report_sequential.py), the provenance
(report_provenance.py) and the rendering (rendering.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from . import paired
from .figures import FIGURES, PLACES
from .figures import render as render_figure_text
from .metrics import COMPARED, CURVES
from .metrics_table import summarize
from .report_sequential import sequential_context


def final_epoch_line(history: pd.DataFrame, steps_per_epoch: int) -> str:
    """The last epoch in the style of Keras's progress line (the original's figs 5-8)."""
    last = history.iloc[-1]
    values = " - ".join(f"{k}: {last[k]:.4f}" for k in CURVES)
    return (
        f"Epoch {int(last['epoch'])}/{int(last['epoch'])}\n"
        f"{steps_per_epoch}/{steps_per_epoch} - {last['seconds']:.0f}s - {values}"
    )


def relative_link(path, report_path) -> str:
    """A link from report.md to ``path`` that renders on GitHub (forward slashes)."""
    rel = os.path.relpath(Path(path).resolve(), Path(report_path).resolve().parent)
    return Path(rel).as_posix()


def read_runs(runs, histories, facts, layers, benchmarks) -> dict[str, list[dict]]:
    """Every run's files, read once: per variant (config order), per seed, the
    history, training facts, layer table and Snakemake benchmark of its training."""
    out: dict[str, list[dict]] = {}
    for run, history, fact, layer, bench in zip(
        runs, histories, facts, layers, benchmarks, strict=True
    ):
        out.setdefault(run["variant"], []).append(
            {
                "seed": run["seed"],
                "history": pd.read_csv(history),
                "facts": json.loads(Path(fact).read_text()),
                "layers": json.loads(Path(layer).read_text()),
                "benchmark": pd.read_csv(bench, sep="\t"),
            }
        )
    return out


def build_context(
    *,
    report_path,
    metrics: pd.DataFrame,
    judged: Mapping[str, Any],
    variants: Mapping[str, dict],
    runs: Mapping[str, list[dict]],
    figures: Iterable[Mapping[str, Any]],
    settings: Mapping[str, Any],
    margins: Mapping[str, Mapping[str, Any]],
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the template shows, computed: from metrics.csv, the verdicts and
    ``runs`` (read_runs). ``variants``: each variant's architecture; ``figures``:
    every figure's ``key`` (ablation/figures.py), ``variant`` and ``path``, shown at
    its place with its alt text and caption, a variant's in its section."""
    summary = summarize(metrics, order=variants)
    settings = {
        **settings,
        "validation_percent": f"{100 * settings['validation_fraction']:g}%",
        "steps_per_epoch": next(iter(runs.values()))[0]["facts"]["steps_per_epoch"],
    }
    # The original's numbers of this study's variants; none where the set-up is not
    # the original's.
    original = {name: numbers for name, numbers in judged["original"].items() if name in variants}
    level, eq_level = paired.interval_levels(judged["alpha"])
    n_seeds = int(metrics["seed"].nunique())
    shown = figure_entries(
        figures,
        report_path,
        level=level,
        eq_level=eq_level,
        seeds={name: int(summary.loc[name, "n_seeds"]) for name in variants},
        all_seeds=n_seeds,
        original=bool(original),
        accuracy_as=settings["accuracy_as"],
    )
    sections = [
        variant_section(
            name,
            variant,
            runs[name],
            metrics=metrics,
            stats=summary.loc[name].to_dict(),
            figures=[f for f in shown["variant"] if f["variant"] == name],
            original=original.get(name),
            settings=settings,
            confidence=1 - judged["alpha"],
        )
        for name, variant in variants.items()
    ]
    return {
        "settings": settings,
        "variants": sections,
        "summary": summary.reset_index().to_dict("records"),
        "verdicts": judged,
        "levels": {
            "difference": level,
            "equivalence": eq_level,
            "alpha": paired.percent(judged["alpha"]),
            "power": paired.percent(judged["power"]),
            "interval": (
                "repeated interval" if judged.get("sequential") else "interval (unadjusted)"
            ),
        },
        "margins": [
            {"metric": m, "margin": v["margin"], "reason": v["reason"]} for m, v in margins.items()
        ],
        "figures": shown,
        "original": original,
        "n_seeds": n_seeds,
        "error_control": error_control(judged, n_seeds),
        "sequential": sequential_context(judged),
        "sequential_command": settings["sequential_command"],
        "provenance": provenance,
    }


def figure_entries(
    figures: Iterable[Mapping[str, Any]],
    report_path,
    *,
    seeds: Mapping[str, int],
    all_seeds: int,
    **values: Any,
) -> dict[str, list[dict[str, Any]]]:
    """Each figure at its place (ablation/figures.py PLACES): its link from the
    report, alt text and caption, rendered with ``values`` and its seed count."""
    shown: dict[str, list[dict[str, Any]]] = {place: [] for place in PLACES}
    for figure in figures:
        entry, variant = FIGURES[figure["key"]], figure["variant"]
        text = {**values, "variant": variant, "seeds": seeds[variant] if variant else all_seeds}
        shown[entry.place].append(
            {
                "variant": variant,
                "path": relative_link(figure["path"], report_path),
                "alt": render_figure_text(entry.alt, **text),
                "caption": render_figure_text(entry.caption, **text),
            }
        )
    return shown


def variant_section(
    name: str,
    variant: Mapping[str, Any],
    runs: list[dict],
    *,
    metrics: pd.DataFrame,
    stats: dict[str, Any],
    figures: list[dict[str, Any]],
    original: Mapping[str, float] | None,
    settings: Mapping[str, Any],
    confidence: float,
) -> dict[str, Any]:
    """One variant's section: its architecture and layer table, its own training
    settings, each seed's last epoch, its figures, its numbers over the seeds, and
    where one more run would fall beside the original's single run."""
    arch = variant["arch"]
    accuracies = metrics.loc[metrics["variant"] == name, "test_accuracy"].tolist()
    prediction = None
    if len(accuracies) > 1:
        low, high = paired.prediction_interval(accuracies, confidence)
        prediction = (max(low, 0.0), min(high, 1.0))  # an accuracy stays within [0, 1]
    return {
        "name": name,
        "arch": arch,
        "training": variant["training"],
        "own_training": any(settings[k] != v for k, v in variant["training"].items()),
        "base": variant["base"],
        "changes": variant["changes"],
        "dense_units": [*arch["dense_units"], settings["num_classes"]],
        "table": runs[0]["layers"],
        "final_lines": [
            {
                "seed": run["seed"],
                "line": final_epoch_line(run["history"], run["facts"]["steps_per_epoch"]),
            }
            for run in runs
        ],
        "figures": figures,
        "stats": {**stats, "n_seeds": int(stats["n_seeds"])},
        "original": original,
        "prediction": prediction,
        "original_in_prediction": (
            prediction[0] <= original["test_accuracy"] <= prediction[1]
            if original and prediction
            else None
        ),
    }


def error_control(judged: Mapping[str, Any], n_seeds: int) -> dict[str, Any]:
    """What the stated error rate covers, and what it rests on: the families Holm
    corrects within, the chance of a false difference somewhere across the
    comparisons (uncorrected between them, independent tests at worst), and the
    smallest p-value a sign-flip test of n seeds can reach (2 / 2^n)."""
    alpha, k = judged["alpha"], len(judged["comparisons"])
    sign_flip = min(1.0, 2 / 2**n_seeds)
    return {
        "comparisons": k,
        "claims": len(judged["claims"]),
        "comparison_metrics": len(COMPARED),
        "any_comparison": f"{100 * (1 - (1 - alpha) ** k):.1f}%",
        "sign_flip_min_p": f"{sign_flip:.3g}",
        "sign_flip_blind": sign_flip >= alpha,
    }
