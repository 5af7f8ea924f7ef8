"""Training curves: per variant (the original's figures 13-24) and across variants."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display needed

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import pandas as pd  # noqa: E402

from .atomic import atomic_path  # noqa: E402
from .metrics import CURVES, METRICS, curve_label  # noqa: E402


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
        fig.savefig(tmp, dpi=150)
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


def plot_seeds(
    histories: Sequence[pd.DataFrame], tests: Sequence[Mapping], seeds: Sequence[int], variant, path
) -> None:
    """Validation loss and accuracy over epochs, one line per seed, each labelled with
    that seed's test accuracy: whether the seeds that validate best also test best."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for seed, history, test in zip(seeds, histories, tests, strict=True):
        label = f"seed {seed}: test {100 * test['test_accuracy']:.2f}%"
        for ax, metric in zip(axes, ("val_loss", "val_accuracy")):
            ax.plot(history["epoch"], history[metric], marker="o", markersize=3, label=label)
    for ax, metric in zip(axes, ("val_loss", "val_accuracy")):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(curve_label(metric))
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.suptitle(f"{variant}: validation curves of each seed, with its test accuracy")
    _save(fig, path)


def plot_comparison(
    histories: Mapping[str, Sequence[pd.DataFrame]], path, accuracy_as: str
) -> None:
    """Loss and accuracy, training and validation, every variant on the same axes of
    a 2x2 grid. With ``accuracy_as="error_rate"`` accuracies are drawn as 1 - accuracy
    on a log scale, where curves that all end near 0.99 come apart."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), layout="constrained", sharex=True)
    for ax, metric in zip(axes.flat, CURVES, strict=True):
        error_rate = accuracy_as == "error_rate" and metric.endswith("accuracy")
        for variant, runs in histories.items():
            if error_rate:
                runs = [h.assign(**{metric: 1 - h[metric]}) for h in runs]
            _draw(ax, seed_band(runs, metric), variant)
        label = curve_label(metric)
        if error_rate:
            label = label.replace("accuracy", "error rate") + " (1 − accuracy, log scale)"
            ax.set_yscale("log")
        ax.set_title(label, fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3, which="both" if error_rate else "major")
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Training (top) and validation (bottom) by variant: mean over seeds, band min-max")
    _save(fig, path)


def plot_confusion(matrices: Sequence[Sequence[Sequence[int]]], class_names, variant: str, path):
    """The test-set confusion matrix of one variant, summed over its seeds: counts
    written in every non-empty cell, colour on a log scale so the few errors show
    beside a diagonal of about a thousand."""
    from matplotlib.colors import LogNorm
    import numpy as np

    total = np.sum(np.asarray(matrices, dtype=np.int64), axis=0)
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(1.6 + 0.62 * n, 1.0 + 0.55 * n), layout="constrained")
    image = ax.imshow(
        np.ma.masked_equal(total, 0), cmap="Blues", norm=LogNorm(vmin=1, vmax=max(total.max(), 2))
    )
    for (row, col), count in np.ndenumerate(total):
        if count:
            dark = count > np.sqrt(total.max())
            ax.text(col, row, f"{count}", ha="center", va="center", fontsize=7,
                    color="white" if dark else ("black" if row == col else "C3"))  # fmt: skip
    ax.set_xticks(range(n), class_names, rotation=45 if max(map(len, class_names)) > 2 else 0)
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(image, ax=ax, shrink=0.8, label="test images (log scale)")
    seeds = f"summed over {len(matrices)} seeds" if len(matrices) > 1 else "1 seed"
    errors = int(total.sum() - np.trace(total))
    ax.set_title(f"{variant}: confusion on the test set ({seeds}; {errors} errors)", fontsize=10)
    _save(fig, path)


def plot_differences(verdicts: Mapping, metrics: Sequence[str], path) -> None:
    """A forest plot: per comparison and metric, the paired difference with its
    intervals, zero, the equivalence band, and the original's single-run difference."""
    comparisons = verdicts["comparisons"]
    ncols = 2
    nrows = -(-len(metrics) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(11, 1.2 + 0.55 * len(comparisons) * nrows),
        layout="constrained",
        squeeze=False,
    )
    names = [f"{c['variant']} − {c['against']}" for c in comparisons]
    from . import paired

    level, eq_level = paired.interval_levels(verdicts["alpha"])
    for ax, metric in zip(axes.flat, metrics):
        spec = METRICS[metric]
        scale = 100 if spec.percent else 1
        for row, comp in enumerate(comparisons):
            r = next(r for r in comp["results"] if r["metric"] == metric)
            y = len(comparisons) - 1 - row
            band = r["margin"] * scale
            ax.fill_between([-band, band], y - 0.35, y + 0.35, color="0.85", lw=0)
            if r["identical"]:
                ax.annotate("identical training", (0, y), ha="center", va="center", fontsize=8)
                continue
            if r["tested"]:
                ax.plot([r["low"] * scale, r["high"] * scale], [y, y], color="C0", lw=1.2)
                ax.plot([r["eq_low"] * scale, r["eq_high"] * scale], [y, y], color="C0", lw=4)
            ax.plot(r["mean"] * scale, y, "o", color="C0", ms=5)
            if r["original_diff"] is not None:
                ax.plot(r["original_diff"] * scale, y, "x", color="C3", ms=8, mew=2)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_yticks(range(len(comparisons)), names[::-1])
        ax.set_ylim(-0.6, len(comparisons) - 0.4)
        better = "right" if spec.higher_is_better else "left"
        unit = "pp" if spec.percent else ""
        ax.set_title(
            f"{spec.final_label} ({unit + ', ' if unit else ''}better to the {better})", fontsize=10
        )
        ax.grid(axis="x", alpha=0.3)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    # A sequential study's intervals are the design's repeated ones, at each stop.
    kind = "repeated interval" if verdicts.get("sequential") else "interval"
    fig.suptitle(
        f"Paired differences over seeds: dot mean, thin bar {level} {kind}, thick bar "
        f"{eq_level} {kind} (equivalence), grey band ± margin, red x the original's one run",
        fontsize=10,
    )
    _save(fig, path)


def plot_test_accuracy(metrics, order: Sequence[str], original: Mapping, confidence: float, path):
    """The headline: each variant's test accuracy, every seed a point, the mean with
    its t interval, and the original's single run where its set-up was this one."""
    from . import paired

    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.55 * len(order)), layout="constrained")
    for row, variant in enumerate(reversed(order)):
        values = 100 * metrics.loc[metrics["variant"] == variant, "test_accuracy"].to_numpy()
        ax.plot(values, [row] * len(values), "o", color="C0", alpha=0.45, ms=5)
        ax.plot(values.mean(), row, "D", color="C0", ms=7)
        if len(values) > 1:
            low, high = paired.t_interval(values, confidence)
            ax.plot([low, high], [row, row], color="C0", lw=2)
        if variant in original:
            ax.plot(100 * original[variant]["test_accuracy"], row, "x", color="C3", ms=9, mew=2)
    ax.set_yticks(range(len(order)), list(reversed(order)))
    ax.set_xlabel("test accuracy (%)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(
        f"Test accuracy: seeds (dots), mean (diamond) with its {100 * confidence:g}% interval"
        + (", the original's one run (red x)" if original else ""),
        fontsize=10,
    )
    _save(fig, path)
