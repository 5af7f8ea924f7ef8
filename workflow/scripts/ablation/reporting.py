"""The metrics table, the statistics between seeds, and report.md.

Every sentence of the report that compares variants is computed here from the
results; the template only lays them out.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from . import atomic

METRICS_COLUMNS = (
    "variant", "seed", "epochs", "train_loss", "train_accuracy", "val_loss",
    "val_accuracy", "test_loss", "test_accuracy", "test_images", "total_params",
    "non_trainable_params",
    "mean_epoch_seconds", "weights_sha256",
)  # fmt: skip

# For each metric the report compares: is a larger value better?
HIGHER_IS_BETTER = {
    "test_accuracy": True,
    "test_loss": False,
    "val_accuracy": True,
    "val_loss": False,
    "train_accuracy": True,
    "train_loss": False,
}

# A claim of the original report expects one of these outcomes on each of its metrics.
CLAIM_EXPECTATIONS = ("better", "worse", "no difference")


# --- the metrics table ------------------------------------------------------------


def metrics_row(variant: str, seed: int, history_csv, facts_json, test_json) -> dict[str, Any]:
    history = pd.read_csv(history_csv)
    last = history.iloc[-1]
    facts = json.loads(Path(facts_json).read_text())
    test = json.loads(Path(test_json).read_text())
    return {
        "variant": variant,
        "seed": int(seed),
        "epochs": int(last["epoch"]),
        "train_loss": float(last["loss"]),
        "train_accuracy": float(last["accuracy"]),
        "val_loss": float(last["val_loss"]),
        "val_accuracy": float(last["val_accuracy"]),
        "test_loss": test["test_loss"],
        "test_accuracy": test["test_accuracy"],
        "test_images": test["test_images"],
        "total_params": facts["total_params"],
        "non_trainable_params": facts["non_trainable_params"],
        "mean_epoch_seconds": float(history["seconds"].mean()),
        "weights_sha256": facts["weights_sha256"],
    }


def metrics_table(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(METRICS_COLUMNS))


def write_metrics(path, table: pd.DataFrame) -> None:
    atomic.write_text(path, table.to_csv(index=False))


def read_metrics(path) -> pd.DataFrame:
    return pd.read_csv(path)


# --- statistics -------------------------------------------------------------------


def summarize(metrics: pd.DataFrame, order: Iterable[str] | None = None) -> pd.DataFrame:
    """Per variant: number of seeds and mean / std / min / max of each metric."""
    numeric = ["test_accuracy", "test_loss", "val_accuracy", "val_loss", "train_accuracy", "train_loss"]
    grouped = metrics.groupby("variant", sort=False)
    summary = grouped[numeric].agg(["mean", "std", "min", "max"])
    summary.columns = [f"{metric}_{stat}" for metric, stat in summary.columns]
    summary["n_seeds"] = grouped.size()
    summary["total_params"] = grouped["total_params"].first()
    summary["non_trainable_params"] = grouped["non_trainable_params"].first()
    summary["mean_epoch_seconds"] = grouped["mean_epoch_seconds"].mean()
    if order is not None:
        summary = summary.reindex([v for v in order if v in summary.index])
    return summary


def paired_difference(
    metrics: pd.DataFrame, variant: str, against: str, metric: str, confidence: float = 0.95
) -> dict[str, Any]:
    """``variant`` minus ``against`` on ``metric``, paired by seed, with a t interval.

    The verdict is 'better' or 'worse' when the whole interval lies on one side of
    zero, 'within noise' when it straddles zero, and 'no verdict' with fewer than
    two shared seeds (one run each says nothing about the noise between runs).
    """
    # Student's t quantile; scipy.special loads in a third of scipy.stats's time.
    from scipy.special import stdtrit

    a = metrics[metrics["variant"] == variant].set_index("seed")[metric]
    b = metrics[metrics["variant"] == against].set_index("seed")[metric]
    seeds = sorted(set(a.index) & set(b.index))
    diff = a.loc[seeds] - b.loc[seeds]
    n = len(diff)
    result: dict[str, Any] = {
        "metric": metric,
        "n": n,
        "seeds": seeds,
        "variant_mean": float(a.loc[seeds].mean()) if n else math.nan,
        "against_mean": float(b.loc[seeds].mean()) if n else math.nan,
        "mean": float(diff.mean()) if n else math.nan,
        "low": None,
        "high": None,
        "confidence": confidence,
    }
    if n < 2:
        result["verdict"] = "no verdict"
        result["reason"] = (
            f"{n} shared seed{'s' if n != 1 else ''}: the noise between seeds cannot be "
            "measured, so no difference can be called real"
        )
        return result
    sd = float(diff.std(ddof=1))
    half = float(stdtrit(n - 1, 0.5 + confidence / 2)) * sd / math.sqrt(n)
    low, high = result["mean"] - half, result["mean"] + half
    sign = 1 if HIGHER_IS_BETTER[metric] else -1
    if sign * low > 0 and sign * high > 0:
        verdict = "better"
    elif sign * low < 0 and sign * high < 0:
        verdict = "worse"
    else:
        verdict = "within noise"
    result.update(low=low, high=high, sd=sd, verdict=verdict, reason="")
    return result


def judge_claim(metrics: pd.DataFrame, claim: Mapping[str, Any], original: Mapping[str, Any]) -> dict:
    """One claim of the original report against this run's seeds.

    ``claim`` has ``variant``, ``against``, ``metrics`` and ``expect`` (better, worse
    or no difference). Each metric gets a paired difference with its verdict; the
    claim is then 'supported' when every metric came out as expected, 'contradicted'
    when any came out the opposite way (a real difference where none was claimed
    counts as opposite), 'not supported' when the expected difference is within
    noise, 'cannot be judged' with fewer than two seeds, and 'not tested' when this
    study lacks one of the two variants.
    """
    if claim["expect"] not in CLAIM_EXPECTATIONS:
        raise ValueError(f"claim {claim['id']!r}: expect must be one of {CLAIM_EXPECTATIONS}")
    present = set(metrics["variant"])
    out: dict[str, Any] = {**claim, "results": [], "status": "", "reason": ""}
    missing = [v for v in (claim["variant"], claim["against"]) if v not in present]
    if missing:
        out["status"] = "not tested"
        out["reason"] = f"variant {', '.join(missing)} is not in this study"
        return out
    orig_a, orig_b = original.get(claim["variant"]), original.get(claim["against"])
    for metric in claim["metrics"]:
        result = paired_difference(metrics, claim["variant"], claim["against"], metric)
        have_original = bool(orig_a and orig_b and metric in orig_a and metric in orig_b)
        result["original_a"] = orig_a[metric] if have_original else None
        result["original_b"] = orig_b[metric] if have_original else None
        out["results"].append(result)
    verdicts = [r["verdict"] for r in out["results"]]
    expect = claim["expect"]
    opposite = {"better": {"worse"}, "worse": {"better"}, "no difference": {"better", "worse"}}
    if "no verdict" in verdicts:
        out["status"] = "cannot be judged"
        out["reason"] = out["results"][0]["reason"]
    elif any(v in opposite[expect] for v in verdicts):
        out["status"] = "contradicted"
    elif expect == "no difference" or all(v == expect for v in verdicts):
        out["status"] = "supported"
        if expect == "no difference":
            out["reason"] = "no real difference found (which does not prove there is none)"
    else:
        out["status"] = "not supported"
        out["reason"] = "the differences are within the noise between seeds"
    return out


# --- report.md --------------------------------------------------------------------


def final_epoch_line(history: pd.DataFrame, steps_per_epoch: int) -> str:
    """The last epoch in the style of Keras's progress line (the original's figs 5-8)."""
    last = history.iloc[-1]
    return (
        f"Epoch {int(last['epoch'])}/{int(last['epoch'])}\n"
        f"{steps_per_epoch}/{steps_per_epoch} - {last['seconds']:.0f}s - "
        f"loss: {last['loss']:.4f} - accuracy: {last['accuracy']:.4f} - "
        f"val_loss: {last['val_loss']:.4f} - val_accuracy: {last['val_accuracy']:.4f}"
    )


def relative_link(path, report_path) -> str:
    """A link from report.md to ``path`` that renders on GitHub (forward slashes)."""
    rel = os.path.relpath(Path(path).resolve(), Path(report_path).resolve().parent)
    return Path(rel).as_posix()


def build_context(
    *,
    report_path,
    metrics: pd.DataFrame,
    variants: Mapping[str, dict],
    runs: Mapping[str, list[dict]],
    comparisons: list[dict],
    comparison_plots: Mapping[str, str],
    reference: Mapping[str, Any],
    settings: Mapping[str, Any],
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the template shows, computed.

    ``runs[variant]`` lists, per seed: ``seed``, ``history`` (CSV path), ``facts``
    (training JSON path), ``layers`` (layer-table JSON path); and ``curves``, the
    variant's figure, is in ``variants[variant]['curves']``.
    """
    summary = summarize(metrics, order=variants)
    first_facts = json.loads(Path(next(iter(runs.values()))[0]["facts"]).read_text())
    settings = {
        **settings,
        "train_images": first_facts["train_images"],
        "validation_images": first_facts["validation_images"],
        "steps_per_epoch": first_facts["steps_per_epoch"],
        "test_images": int(metrics["test_images"].iloc[0]),
    }
    original = reference.get("variants", {}) if reference.get("dataset") == settings["dataset"] else {}
    sections = []
    for name, info in variants.items():
        first = runs[name][0]
        seeds = []
        for run in runs[name]:
            history = pd.read_csv(run["history"])
            run_facts = json.loads(Path(run["facts"]).read_text())
            seeds.append(
                {"seed": run["seed"], "line": final_epoch_line(history, run_facts["steps_per_epoch"])}
            )
        sections.append(
            {
                "name": name,
                "arch": info["arch"],
                "table": json.loads(Path(first["layers"]).read_text()),
                "final_lines": seeds,
                "curves": relative_link(info["curves"], report_path),
                "stats": summary.loc[name].to_dict(),
                "original": original.get(name),
            }
        )
    judged = []
    for comp in comparisons:
        results = {
            metric: paired_difference(metrics, comp["variant"], comp["against"], metric)
            for metric in ("test_accuracy", "test_loss", "val_loss")
        }
        orig_a, orig_b = original.get(comp["variant"]), original.get(comp["against"])
        judged.append(
            {
                **comp,
                "results": results,
                "original_diff": (
                    orig_a["test_accuracy"] - orig_b["test_accuracy"] if orig_a and orig_b else None
                ),
                "original_a": orig_a,
                "original_b": orig_b,
            }
        )
    return {
        "settings": settings,
        "variants": sections,
        "summary": summary.reset_index().to_dict("records"),
        "comparisons": judged,
        "comparison_plots": {
            metric: relative_link(path, report_path) for metric, path in comparison_plots.items()
        },
        "reference": reference if original else None,
        # The claims are about the original's dataset: judged only on the same one.
        "claims": [judge_claim(metrics, claim, original) for claim in reference.get("claims", [])]
        if original
        else [],
        "n_seeds": int(metrics["seed"].nunique()),
        "provenance": provenance,
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


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance(
    *,
    project_dir,
    config_sha256: str,
    dataset_path,
    runs: Mapping[str, list[dict]],
    snakemake_version: str,
) -> dict[str, Any]:
    """What produced these numbers: code, config, data, software, machine, cost.

    ``runs[variant]`` lists per seed its ``facts`` (training JSON) and ``benchmark``
    (Snakemake's benchmark TSV of the training job).
    """
    per_variant = {}
    environment = None
    for variant, seeds in runs.items():
        facts = [json.loads(Path(r["facts"]).read_text()) for r in seeds]
        bench = pd.concat([pd.read_csv(r["benchmark"], sep="\t") for r in seeds])
        environment = environment or facts[0].get("environment")
        rates = [f["images_per_second"] for f in facts if f.get("images_per_second")]
        per_variant[variant] = {
            "train_seconds": float(bench["s"].mean()),
            "images_per_second": sum(rates) / len(rates) if rates else None,
            "max_rss_mb": float(bench["max_rss"].max()),
        }
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git": git_state(project_dir),
        "config_sha256": config_sha256,
        "dataset_sha256": file_sha256(dataset_path),
        "snakemake": snakemake_version,
        "environment": environment or {},
        "variants": per_variant,
    }


def _pp(value) -> str:
    """A difference of proportions in percentage points, signed."""
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:+.2f} pp"


def _signed(value, digits: int = 4) -> str:
    return _num(value, digits) if _num(value) == "–" else f"{value:+.{digits}f}"


def _num(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


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
    env.filters["pp"] = _pp
    env.filters["num"] = _num
    env.filters["signed"] = _signed
    # A difference of accuracies in pp, of losses as a signed number: `x | apply("pp")`.
    env.filters["apply"] = lambda value, name: env.filters[name](value)
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    return env.get_template(template_path.name).render(**context)
