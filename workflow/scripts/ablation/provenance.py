"""A study carries its own provenance: Snakemake's record of how each of its files
was made (the rule, params, the set of inputs and their checksums) is kept beside
the results, in results/.provenance/, and put back where Snakemake looks for it
(.snakemake/metadata/) when a copy of the study lacks it.

Why: results/ copied into a fresh clone (cp -r, rsync, a tarball, a shared folder)
arrives without .snakemake/, with every file dated by the copy in no particular
order. Without the records Snakemake can only compare dates, and retrains the whole
study; with them it compares the copied inputs by the checksums it recorded, so the
copy is as up to date as the original, and a real change (code, config) reruns what
it reaches, with Snakemake's reason for each job.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterable

from . import atomic

METADATA = Path(".snakemake") / "metadata"
KEPT = ".provenance"


def _recorded_path(record: Path, root: Path) -> str:
    """The file a record is of: Snakemake names it by the file's path in URL-safe
    base64, cut into folders whose names start with '@' where it is long."""
    parts = record.relative_to(root).parts
    return base64.urlsafe_b64decode("".join(p.lstrip("@") for p in parts)).decode()


def _records(root: Path) -> Iterable[tuple[Path, str]]:
    if not root.is_dir():
        return
    for folder, _, names in os.walk(root):
        for name in names:
            record = Path(folder) / name
            try:
                yield record, _recorded_path(record, root)
            except ValueError:  # not a record of Snakemake's
                continue


def _complete(record: Path) -> bool:
    try:
        return not json.loads(record.read_text(encoding="utf-8")).get("incomplete", True)
    except (OSError, ValueError):
        return False


def save(results: str, also: Iterable[str] = ()) -> int:
    """Keep the records of every finished file under ``results`` (and of the files
    ``also``, the report) in results/.provenance/; returns how many changed."""
    kept, changed = Path(results) / KEPT, 0
    for record, path in _records(METADATA):
        if not (path.startswith(f"{results}/") or path in also) or not _complete(record):
            continue
        copy = kept / record.relative_to(METADATA)
        if copy.is_file() and copy.read_bytes() == record.read_bytes():
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        tmp = copy.with_name(copy.name + ".tmp")
        shutil.copyfile(record, tmp)
        os.replace(tmp, copy)
        changed += 1
    return changed


def restore(results: str) -> int:
    """Put back the kept records Snakemake's metadata lacks, for files that exist
    (a copied study); returns how many. A record already there is left alone: it
    is this folder's own, and newer."""
    kept, restored = Path(results) / KEPT, 0
    for copy, path in _records(kept):
        record = METADATA / copy.relative_to(kept)
        if record.exists() or not os.path.exists(path) or not _complete(copy):
            continue
        record.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(copy, record)
        restored += 1
    return restored


def move_checksums(results: str, path: str, old: str, new: str) -> int:
    """Where a record (Snakemake's, or its copy kept under ``results``) says input
    ``path`` had the checksum of text ``old``, make it say that of ``new``: the file's
    content changed, and what was made from it stays what it would be made now (a
    recorded refactor, ablation/refactors.py). Records of ``path`` at any other
    checksum are left as they are. Returns how many records changed."""
    before, after = (f"sha256:{hashlib.sha256(t.encode('utf-8')).hexdigest()}" for t in (old, new))
    moved = 0
    for root in (METADATA, Path(results) / KEPT):
        for record, _ in list(_records(root)):
            try:
                data = json.loads(record.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            checksums = data.get("input_checksums") or {}
            if checksums.get(path) != before:
                continue
            checksums[path] = after
            atomic.write_text(record, json.dumps(data))
            moved += 1
    return moved
