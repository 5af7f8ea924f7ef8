"""What a correct copy of a dataset is, and checking arrays and files against it:
shapes, label counts and SHA-256 (the one recorded at download, or a known copy's)."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import DataError
from .npz import read_npz


@dataclass(frozen=True)
class DatasetSpec:
    """What a correct copy of a dataset looks like, and where to get one."""

    name: str
    title: str
    image_shape: tuple[int, int]
    class_names: tuple[str, ...]
    train_label_counts: tuple[int, ...]
    test_label_counts: tuple[int, ...]
    # SHA-256 of the .npz files known to hold it: the ones this workflow writes
    # (write_npz gives the same bytes for the same arrays) and a source's own .npz.
    # A copy put in place by hand must be one of these.
    known_sha256: tuple[str, ...] = ()
    # Where to get it, in the order tried (sources.py); not part of what it is.
    sources: tuple = ()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_train(self) -> int:
        return sum(self.train_label_counts)

    @property
    def n_test(self) -> int:
        return sum(self.test_label_counts)

    def checks(self) -> dict:
        """What a copy is checked against, as plain data (a rule's params): a job
        that verifies a copy takes these, not the registry, so a new dataset or
        source in the registry reruns nothing."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in dataclasses.fields(self)
            if f.name != "sources"
        }

    @classmethod
    def from_checks(cls, checks: dict) -> "DatasetSpec":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in checks.items()})


def check_sha256(data: bytes, expected: str, what: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected.lower():
        raise DataError(f"{what}: SHA-256 mismatch: expected {expected.lower()}, got {actual}")


def verify_arrays(arrays: dict[str, np.ndarray], spec: DatasetSpec, what: str) -> None:
    """Shapes, dtypes, label range and the dataset's known per-class counts."""
    for part, counts in (("train", spec.train_label_counts), ("test", spec.test_label_counts)):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        n = sum(counts)
        if x.shape != (n, *spec.image_shape) or x.dtype != np.uint8:
            raise DataError(
                f"{what}: x_{part} is {x.dtype}{list(x.shape)}, "
                f"expected uint8{[n, *spec.image_shape]}"
            )
        if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{what}: y_{part} is {y.dtype}{list(y.shape)}, expected integer[{n}]")
        if y.min() < 0 or y.max() >= spec.num_classes:
            raise DataError(
                f"{what}: y_{part} has labels outside 0..{spec.num_classes - 1} "
                f"(min {y.min()}, max {y.max()})"
            )
        found = tuple(int(c) for c in np.bincount(y, minlength=spec.num_classes))
        if found != counts:
            raise DataError(
                f"{what}: y_{part} label counts {list(found)} are not {spec.name}'s {list(counts)}"
            )


def recorded_hash_path(path) -> Path:
    """Beside the dataset file, its SHA-256 as written at download (sha256sum format)."""
    return Path(f"{path}.sha256")


def record_hash(path) -> None:
    digest = file_sha256(path)
    with atomic_path(recorded_hash_path(path)) as tmp:
        tmp.write_text(f"{digest}  {Path(path).name}\n", encoding="utf-8")


def file_sha256(path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verify_file(path, spec: DatasetSpec, also: tuple[str, ...] = ()) -> None:
    """The dataset file is the one fetched (the hash recorded then) or, put in place
    by hand, a known copy (``spec.known_sha256``, or ``also``: the source's own hash,
    a Keras .npz as downloaded). Anything else was replaced or changed since."""
    actual = file_sha256(path)
    recorded = recorded_hash_path(path)
    if recorded.is_file():
        expected, against = {recorded.read_text().split()[0]}, f"the hash recorded in {recorded}"
    else:
        expected = {h.lower() for h in (*spec.known_sha256, *also) if h}
        against = f"any known copy of {spec.title}"
    if actual not in expected:
        raise DataError(
            f"{path}: SHA-256 {actual} does not match {against}: the file was replaced or "
            f"changed; delete it (and {recorded.name}, if there) to fetch {spec.title} again"
        )


def load_dataset(path, spec: DatasetSpec, also: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    verify_file(path, spec, also)
    arrays = read_npz(path, str(path))
    verify_arrays(arrays, spec, str(path))
    return arrays
