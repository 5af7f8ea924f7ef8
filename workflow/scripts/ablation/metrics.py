"""Every metric the study reports, in one list: its name (a column of metrics.csv,
a key of the verdicts), label, direction and how it is shown. Training's per-epoch
values are Keras's own (loss, accuracy, val_loss, val_accuracy); ``history`` names
the one a metric is the last epoch of."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    higher_is_better: bool
    # Accuracies are shown as percentage points, losses as plain numbers.
    percent: bool
    history: str | None = None
    # An accuracy's images (a column of metrics.csv): accuracies are compared as
    # whole counts of correct images, not as float32 fractions.
    images: str | None = None

    @property
    def final_label(self) -> str:
        return f"{self.label} (last epoch)" if self.history else self.label

    def format(self, value, signed: bool = False) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        if self.percent:
            return f"{100 * value:{'+' if signed else ''}.2f} pp"
        return f"{value:{'+' if signed else ''}.4f}"


METRICS = {
    m.name: m
    for m in (
        Metric("test_accuracy", "test accuracy", True, True, images="test_images"),
        Metric("test_loss", "test loss", False, False),
        Metric(
            "val_accuracy", "validation accuracy", True, True, "val_accuracy", "validation_images"
        ),
        Metric("val_loss", "validation loss", False, False, history="val_loss"),
        Metric("train_accuracy", "training accuracy", True, True, "accuracy", "train_images"),
        Metric("train_loss", "training loss", False, False, history="loss"),
    )
}
# What each comparison of the report shows, in this order.
COMPARED = ("test_accuracy", "test_loss", "val_accuracy", "val_loss")
# The per-epoch curves drawn across variants (a 2x2 grid, training above
# validation): Keras's history columns.
CURVES = ("loss", "accuracy", "val_loss", "val_accuracy")


def curve_label(history_column: str) -> str:
    """The label of the metric a Keras history column is, e.g. 'val_loss'."""
    return next(m.label for m in METRICS.values() if m.history == history_column)
