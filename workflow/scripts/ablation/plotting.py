"""Training curves: per variant (the original's figures 13-24) and across variants."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display needed

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import pandas as pd  # noqa: E402

from .atomic import atomic_path  # noqa: E402

METRIC_LABELS = {
    "loss": "training loss",
    "accuracy": "training accuracy",
    "val_loss": "validation loss",
    "val_accuracy": "validation accuracy",
}


def seed_band(histories: Sequence[pd.DataFrame], metric: str) -> pd.DataFrame:
    """Per epoch: mean, min and max of ``metric`` over seeds."""
    stacked = pd.concat(
        [h.set_index("epoch")[metric].rename(i) for i, h in enumerate(histories)], axis=1
    )
    return pd.DataFrame(
        {"mean": stacked.mean(axis=1), "min": stacked.min(axis=1), "max": stacked.max(axis=1)}
    )


def _draw(ax, band: pd.DataFrame, label: str, **style) -> None:
    line = ax.plot(band.index, band["mean"], marker="o", markersize=3, label=label, **style)[0]
    if (band["max"] > band["min"]).any():
        ax.fill_between(band.index, band["min"], band["max"], color=line.get_color(), alpha=0.2)


def _save(fig, path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def plot_variant(histories: Sequence[pd.DataFrame], variant: str, path) -> None:
    """Loss and accuracy, training vs validation; seed mean with its min-max band."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    n = len(histories)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        _draw(ax, seed_band(histories, metric), "training")
        _draw(ax, seed_band(histories, f"val_{metric}"), "validation")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    seeds = f"mean of {n} seeds, band: min-max" if n > 1 else "1 seed"
    fig.suptitle(f"{variant}: training vs validation ({seeds})")
    _save(fig, path)


def plot_comparison(histories: Mapping[str, Sequence[pd.DataFrame]], metric: str, path) -> None:
    """One metric over epochs, every variant on the same axes."""
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    for variant, runs in histories.items():
        _draw(ax, seed_band(runs, metric), variant)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(f"{METRIC_LABELS.get(metric, metric)} by variant")
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)
