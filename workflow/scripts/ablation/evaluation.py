"""Test-set evaluation of one trained model."""

from __future__ import annotations

from typing import Any

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows: true class; columns: predicted class."""
    flat = y_true.astype(np.int64) * num_classes + y_pred.astype(np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def evaluate(
    model_path, x: np.ndarray, y: np.ndarray, batch_size: int, num_classes: int
) -> dict[str, Any]:
    from .models import read_model
    from .pipeline import evaluation_batches

    model = read_model(model_path)
    scores = model.evaluate(evaluation_batches(x, y, batch_size), verbose=0, return_dict=True)
    probabilities = model.predict(evaluation_batches(x, y, batch_size), verbose=0)
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(y, predicted, num_classes)
    support = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, np.diag(matrix) / support, np.nan)
    return {
        "test_loss": float(scores["loss"]),
        "test_accuracy": float(scores["accuracy"]),
        "test_images": int(len(y)),
        "per_class_accuracy": [None if np.isnan(a) else float(a) for a in per_class],
        "confusion_matrix": matrix.tolist(),
    }
