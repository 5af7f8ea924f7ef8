"""report.md: everything it shows, computed from the results (build_context),
its provenance, and the rendering.

Every verdict of the report is computed in judging.py (rule verdicts) from the results; the
template only lays them out.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from . import paired
from .dataset_checks import file_sha256
from .figures import FIGURES, PLACES
from .figures import render as render_figure_text
from .metrics import COMPARED, CURVES, METRICS
from .metrics_table import summarize


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
    confidence = 1 - judged["alpha"]
    sections = []
    n_seeds = int(metrics["seed"].nunique())
    shown = {place: [] for place in PLACES}
    for figure in figures:
        entry, variant = FIGURES[figure["key"]], figure["variant"]
        values = {
            "variant": variant,
            "level": paired.interval_levels(judged["alpha"])[0],
            "eq_level": paired.interval_levels(judged["alpha"])[1],
            "seeds": int(summary.loc[variant, "n_seeds"]) if variant else n_seeds,
            "original": bool(original),
            "accuracy_as": settings["accuracy_as"],
        }
        shown[entry.place].append(
            {
                "variant": variant,
                "path": relative_link(figure["path"], report_path),
                "alt": render_figure_text(entry.alt, **values),
                "caption": render_figure_text(entry.caption, **values),
            }
        )
    for name, variant in variants.items():
        arch = variant["arch"]
        stats = summary.loc[name].to_dict()
        stats["n_seeds"] = int(stats["n_seeds"])
        accuracies = metrics.loc[metrics["variant"] == name, "test_accuracy"].tolist()
        prediction = None
        if len(accuracies) > 1:
            low, high = paired.prediction_interval(accuracies, confidence)
            prediction = (max(low, 0.0), min(high, 1.0))  # an accuracy stays within [0, 1]
        orig = original.get(name)
        sections.append(
            {
                "name": name,
                "arch": arch,
                "training": variant["training"],
                "own_training": any(settings[k] != v for k, v in variant["training"].items()),
                "base": variant["base"],
                "changes": variant["changes"],
                "dense_units": [*arch["dense_units"], settings["num_classes"]],
                "table": runs[name][0]["layers"],
                "final_lines": [
                    {
                        "seed": run["seed"],
                        "line": final_epoch_line(run["history"], run["facts"]["steps_per_epoch"]),
                    }
                    for run in runs[name]
                ],
                "figures": [f for f in shown["variant"] if f["variant"] == name],
                "stats": stats,
                "original": orig,
                "prediction": prediction,
                "original_in_prediction": (
                    prediction[0] <= orig["test_accuracy"] <= prediction[1]
                    if orig and prediction
                    else None
                ),
            }
        )
    return {
        "settings": settings,
        "variants": sections,
        "summary": summary.reset_index().to_dict("records"),
        "verdicts": judged,
        "levels": {
            "difference": paired.interval_levels(judged["alpha"])[0],
            "equivalence": paired.interval_levels(judged["alpha"])[1],
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


def git_state(directory) -> dict[str, Any]:
    """The commit the workflow ran from, and whether tracked files were modified."""

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        return {
            "commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        }
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def numerics_of(environment: Mapping[str, Any]) -> str:
    """What decided a run's weights besides the study's inputs, in words: software,
    device, threads and the instruction set oneDNN ran (training.json's environment).
    Runs with the same words trained the same weights from the same seed."""
    n = environment.get("numerics") or {}
    threads = n.get("threads", environment.get("intra_op_threads"))
    device = (f"GPU {', '.join(environment['gpus'])}" if environment.get("gpus")
              else f"CPU {environment.get('cpu', 'unknown')}")  # fmt: skip
    isa = n.get("cpu_isa") or "unrecorded"
    onednn = "; oneDNN off" if n.get("tf_enable_onednn_opts") == "0" else ""
    return (f"TensorFlow {environment.get('tensorflow')}, {device}, {threads} thread"
            f"{'s' if threads != 1 else ''}, oneDNN at {isa}{onednn}")  # fmt: skip


def numerics_groups(runs: Mapping[str, list[dict]]) -> list[dict[str, Any]]:
    """The runs grouped by numerics_of, largest group first: one group when every
    seed was trained alike, several when a study was continued elsewhere."""
    groups: dict[str, dict[str, list[int]]] = {}
    for variant, seeds in runs.items():
        for r in seeds:
            words = numerics_of(r["facts"].get("environment") or {})
            groups.setdefault(words, {}).setdefault(variant, []).append(r["facts"]["seed"])
    return sorted(
        ({"numerics": words, "runs": by_variant, "count": sum(map(len, by_variant.values()))}
         for words, by_variant in groups.items()),
        key=lambda g: -g["count"],
    )  # fmt: skip


def provenance(
    *,
    project_dir,
    config_sha256: str,
    dataset_path,
    runs: Mapping[str, list[dict]],
    snakemake_version: str,
    design_path=None,
) -> dict[str, Any]:
    """What produced these numbers: code, config, data, software, machine, cost
    (``runs``: read_runs), and a sequential study's pre-registered design."""
    per_variant = {}
    for variant, seeds in runs.items():
        bench = pd.concat([r["benchmark"] for r in seeds])
        rates = [
            r["facts"]["images_per_second"] for r in seeds if r["facts"].get("images_per_second")
        ]
        per_variant[variant] = {
            "train_seconds": float(bench["s"].mean()),
            "images_per_second": sum(rates) / len(rates) if rates else None,
            "max_rss_mb": float(bench["max_rss"].max()),
        }
    environment = next(iter(runs.values()))[0]["facts"].get("environment")
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git": git_state(project_dir),
        "config_sha256": config_sha256,
        "dataset_sha256": file_sha256(dataset_path),
        "design_sha256": file_sha256(design_path) if design_path else None,
        "snakemake": snakemake_version,
        "environment": environment or {},
        "numerics": numerics_groups(runs),
        "variants": per_variant,
    }


def _metric(value, metric: str, signed: bool = False) -> str:
    """A value of ``metric`` as the report shows it (accuracies in pp)."""
    return METRICS[metric].format(value, signed)


def _num(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def data_uri(path) -> str:
    """A file as a data: URI, so a page that shows it needs nothing beside it."""
    import base64
    import mimetypes

    mime = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode()}"


def html_page(markdown_text: str, base_dir, title: str) -> str:
    """report.md as one self-contained HTML page (figures embedded), for Snakemake's
    HTML report, where report.md's relative figure links do not resolve."""
    import html

    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code"])
    body = re.sub(
        r'<img alt="([^"]*)" src="([^"]+)"',
        lambda m: f'<img alt="{m[1]}" src="{data_uri(Path(base_dir) / html.unescape(m[2]))}"',
        body,
    )
    style = (
        "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "line-height:1.45}img{max-width:100%}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2rem .5rem}pre{background:#f6f6f6;padding:.5rem;"
        "overflow-x:auto}blockquote{border-left:4px solid #ccc;margin-left:0;padding-left:1rem}"
    )
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{style}</style></head><body>\n{body}\n</body></html>\n"
    )


def render(template_path, context: dict[str, Any]) -> str:
    import jinja2

    template_path = Path(template_path)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_path.parent),
        undefined=jinja2.StrictUndefined,  # a misspelt name fails instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _num
    # A value of a metric, as that metric is shown: `x | metric("test_loss")`.
    env.filters["metric"] = _metric
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    env.filters["rst_title"] = lambda title: f"{title}\n{'=' * len(title)}"
    return env.get_template(template_path.name).render(**context)
