"""The study's train / validation / test arrays: cut as Keras's validation_split
cuts, written and read back as one .npz per part. A training reads only these."""

from __future__ import annotations

import numpy as np

from .errors import DataError
from .npz import read_npz, write_npz


def train_count(n: int, validation_fraction: float) -> int:
    """How many of ``n`` images train; the rest validate. Keras:
    split_at = int(n * (1 - validation_split))."""
    return int(n * (1.0 - validation_fraction))


def image_counts(
    n_train: int,
    n_test: int,
    validation_fraction: float,
    train_limit: int | None = None,
    test_limit: int | None = None,
) -> dict[str, int]:
    """The images of each part split() makes from a dataset of ``n_train`` training
    and ``n_test`` test images, without the arrays."""
    n = n_train if train_limit is None else min(train_limit, n_train)
    train = train_count(n, validation_fraction)
    test = n_test if test_limit is None else min(test_limit, n_test)
    return {"train": train, "validation": n - train, "test": test}


def split(
    arrays: dict[str, np.ndarray],
    validation_fraction: float,
    train_limit: int | None = None,
    test_limit: int | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train / validation / test, validation taken from the end as Keras does.

    ``model.fit(validation_split=f)`` holds out the *last* ``f`` of the arrays,
    before any shuffling: for MNIST and f=0.1 the last 6,000 of 60,000 images.
    ``train_limit`` / ``test_limit`` keep only the first N images (small studies).
    """
    x, y = arrays["x_train"], arrays["y_train"]
    x_te, y_te = arrays["x_test"], arrays["y_test"]
    if train_limit is not None:
        x, y = x[:train_limit], y[:train_limit]
    if test_limit is not None:
        x_te, y_te = x_te[:test_limit], y_te[:test_limit]
    split_at = train_count(len(x), validation_fraction)
    if split_at <= 0 or split_at >= len(x):
        raise DataError(
            f"split.validation_fraction {validation_fraction} leaves an empty "
            f"train or validation set from {len(x)} images"
        )
    return {
        "train": (x[:split_at], y[:split_at]),
        "validation": (x[split_at:], y[split_at:]),
        "test": (x_te, y_te),
    }


def write_split(path, x: np.ndarray, y: np.ndarray) -> None:
    write_npz(path, x=x.astype(np.uint8, copy=False), y=y.astype(np.uint8, copy=False))


def read_split(path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Read one split file, checking what training relies on."""
    what = str(path)
    arrays = read_npz(path, what, keys=("x", "y"))
    x, y = arrays["x"], arrays["y"]
    if x.dtype != np.uint8 or x.ndim != 3 or y.shape != (len(x),):
        raise DataError(
            f"{what}: expected x uint8[n, h, w] and y[n], got "
            f"x {x.dtype}{list(x.shape)}, y {y.dtype}{list(y.shape)}"
        )
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise DataError(f"{what}: labels outside 0..{num_classes - 1}")
    return x, y
