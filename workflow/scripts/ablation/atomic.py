"""Atomic file output: a killed job never leaves a file that looks complete."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary file lives in the same directory, so the final ``os.replace`` is
    a rename within one file system and therefore atomic. On any exception the
    temporary file is removed and ``path`` is left as it was.
    ``suffix`` keeps an extension that some writers insist on (Keras wants
    ``.keras``, NumPy appends ``.npz``, Matplotlib infers the format from it).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix if suffix is None else suffix
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp makes the file private (0600); give it the usual permissions.
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, data) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


# What a run writes before its first job: Snakemake's locks, its log, job metadata.
START_SPACE = 1 << 20


def has_room(folder: str | os.PathLike = ".", size: int = START_SPACE) -> bool:
    """Whether ``size`` bytes can be written in ``folder`` now: a file written,
    synced and removed, so a quota, a read-only or full file system all count."""
    try:
        with tempfile.TemporaryFile(dir=folder) as f:
            f.write(b"\0" * size)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return False
        raise
    return True


def remove_folder(folder, empty_parents: int = 2) -> None:
    """Remove ``folder`` and whatever is in it, then up to ``empty_parents`` of its
    parents where that left them empty."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    parent = Path(folder).parent
    for _ in range(empty_parents):
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent
