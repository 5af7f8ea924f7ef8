"""What produced a study's numbers, as report.md states it: code (the commit, and
whether it was modified), config, data, software, machine, numerics, cost."""

from __future__ import annotations

import datetime
import subprocess
from typing import Any, Mapping

import pandas as pd

from .dataset_checks import file_sha256


def git_state(directory) -> dict[str, Any]:
    """The commit the workflow ran from, and whether tracked files were modified."""

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        return {
            "commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        }
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def numerics_of(environment: Mapping[str, Any]) -> str:
    """What decided a run's weights besides the study's inputs, in words: software,
    device, threads, the instruction set oneDNN ran and the reciprocals
    (training.json's environment). Runs with the same words trained the same
    weights from the same seed."""
    device = (f"GPU {', '.join(environment['gpus'])}" if environment.get("gpus")
              else f"CPU {environment.get('cpu', 'unknown')}")  # fmt: skip
    return f"{portable_numerics(environment)}; {device}"


def portable_numerics(environment: Mapping[str, Any]) -> str:
    """The numerics without the CPU's name: what two machines must share for the
    same seed to train the same weights (the CPU's vendor aside, which IEEE
    reciprocals take out of it: docs/numerics.md)."""
    n = environment.get("numerics") or {}
    threads = n.get("threads", environment.get("intra_op_threads"))
    isa = n.get("cpu_isa") or "unrecorded"
    onednn = "; oneDNN off" if n.get("tf_enable_onednn_opts") == "0" else ""
    # Runs recorded before the setting existed used TensorFlow's own.
    reciprocals = "IEEE" if n.get("exact_reciprocals") else "TensorFlow's (the CPU vendor's bits)"
    return (f"TensorFlow {environment.get('tensorflow')}, {threads} thread"
            f"{'s' if threads != 1 else ''}, oneDNN at {isa}{onednn}, "
            f"{reciprocals} reciprocals")  # fmt: skip


def numerics_fingerprint(environment: Mapping[str, Any]) -> str:
    """A short name of portable_numerics: two finished studies whose fingerprints
    match should hold the same weights for the same seeds (GPU runs: on the same
    card and CUDA)."""
    import hashlib

    words = portable_numerics(environment)
    if environment.get("gpus"):
        words += f"; GPU {', '.join(environment['gpus'])}"
    return hashlib.sha256(words.encode()).hexdigest()[:12]


def numerics_groups(runs: Mapping[str, list[dict]]) -> list[dict[str, Any]]:
    """The runs grouped by numerics_of, largest group first: one group when every
    seed was trained alike, several when a study was continued elsewhere; each
    with its numerics fingerprint."""
    groups: dict[str, dict[str, Any]] = {}
    for variant, seeds in runs.items():
        for r in seeds:
            environment = r["facts"].get("environment") or {}
            group = groups.setdefault(
                numerics_of(environment),
                {"fingerprint": numerics_fingerprint(environment), "runs": {}},
            )
            group["runs"].setdefault(variant, []).append(r["facts"]["seed"])
    return sorted(
        ({"numerics": words, **group, "count": sum(map(len, group["runs"].values()))}
         for words, group in groups.items()),
        key=lambda g: -g["count"],
    )  # fmt: skip


def provenance(
    *,
    project_dir,
    config_sha256: str,
    dataset_path,
    runs: Mapping[str, list[dict]],
    snakemake_version: str,
    design_path=None,
) -> dict[str, Any]:
    """What produced these numbers: code, config, data, software, machine, cost
    (``runs``: read_runs), and a sequential study's pre-registered design."""
    per_variant = {}
    for variant, seeds in runs.items():
        bench = pd.concat([r["benchmark"] for r in seeds])
        rates = [
            r["facts"]["images_per_second"] for r in seeds if r["facts"].get("images_per_second")
        ]
        per_variant[variant] = {
            "train_seconds": float(bench["s"].mean()),
            "images_per_second": sum(rates) / len(rates) if rates else None,
            "max_rss_mb": float(bench["max_rss"].max()),
        }
    environment = next(iter(runs.values()))[0]["facts"].get("environment")
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git": git_state(project_dir),
        "config_sha256": config_sha256,
        "dataset_sha256": file_sha256(dataset_path),
        "design_sha256": file_sha256(design_path) if design_path else None,
        "snakemake": snakemake_version,
        "environment": environment or {},
        "numerics": numerics_groups(runs),
        "variants": per_variant,
    }
