"""metrics.csv: one row per variant and seed (the last epoch's values, the test
scores and the run's facts), read back, summarized over seeds, and compared
across studies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from . import atomic
from .metrics import METRICS

# The layer between the conv blocks and the dense ones (a variant's `head`).
HEAD_LAYERS = ("Flatten", "GlobalAveragePooling2D")

METRICS_COLUMNS = (
    "dataset", "variant", "seed", "epochs", *METRICS, "train_images", "validation_images",
    "test_images", "total_params", "non_trainable_params", "flatten_width",
    "mean_epoch_seconds", "weights_sha256",
)  # fmt: skip


def metrics_row(
    dataset: str, variant: str, seed: int, history_csv, facts_json, test_json, layers_json
) -> dict[str, Any]:
    history = pd.read_csv(history_csv)
    last = history.iloc[-1]
    facts = json.loads(Path(facts_json).read_text())
    test = json.loads(Path(test_json).read_text())
    layers = json.loads(Path(layers_json).read_text())["layers"]
    head = next((row for row in layers if row["type"] in HEAD_LAYERS), None)
    return {
        "dataset": dataset,
        "variant": variant,
        "seed": int(seed),
        "epochs": int(last["epoch"]),
        **{m.name: float(last[m.history] if m.history else test[m.name]) for m in METRICS.values()},
        "train_images": facts["train_images"],
        "validation_images": facts["validation_images"],
        "test_images": test["test_images"],
        "total_params": facts["total_params"],
        "non_trainable_params": facts["non_trainable_params"],
        # What the dense head sees: "(None, 576)" -> 576.
        "flatten_width": int(head["output_shape"].strip("()").split(",")[-1]) if head else 0,
        "mean_epoch_seconds": float(history["seconds"].mean()),
        "weights_sha256": facts["weights_sha256"],
    }


def write_metrics(path, rows: Iterable[dict[str, Any]]) -> None:
    table = pd.DataFrame(list(rows), columns=list(METRICS_COLUMNS))
    atomic.write_text(path, table.to_csv(index=False))


def read_metrics(path) -> pd.DataFrame:
    return pd.read_csv(path)


def compare_studies(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per study and variant: dataset, seeds, test accuracy mean and sd."""
    rows = []
    for study, table in tables.items():
        for variant, runs in table.groupby("variant", sort=False):
            accuracy = runs["test_accuracy"]
            rows.append(
                {
                    "study": study,
                    "dataset": runs["dataset"].iloc[0],
                    "variant": variant,
                    "seeds": len(runs),
                    "epochs": int(runs["epochs"].iloc[0]),
                    "test accuracy": f"{accuracy.mean():.4f}"
                    + (f" ± {accuracy.std():.4f}" if len(runs) > 1 else ""),
                }
            )
    return pd.DataFrame(rows)


def summarize(metrics: pd.DataFrame, order: Iterable[str] | None = None) -> pd.DataFrame:
    """Per variant: number of seeds and mean / std / min / max of each metric."""
    numeric = list(METRICS)
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
