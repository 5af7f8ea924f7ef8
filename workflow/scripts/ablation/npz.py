"""The .npz format as this workflow reads and writes it: never unpickled, and the
same arrays always the same bytes."""

from __future__ import annotations

import io
import zipfile

import numpy as np

from .atomic import atomic_path
from .errors import DataError

# A dataset file's arrays, as Keras's mnist.npz names them.
ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")


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


def write_npz(path, **arrays: np.ndarray) -> None:
    """As np.savez_compressed, but the same arrays always give the same bytes (no
    timestamps), so Snakemake's checksums see a rewrite of the same data as no change."""
    with atomic_path(path, suffix=".npz") as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for name, array in arrays.items():
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(entry, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)
