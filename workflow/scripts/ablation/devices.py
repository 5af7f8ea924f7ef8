"""What a TensorFlow job runs on: its threads, its GPU when several trainings run
at once on one machine, and the facts of it a training records (environment()).

Snakemake counts GPUs as a plain number (``--resources gpu=N``) and does not say
which card a job may use, so without help every training starts on card 0. Each
training claims a free card by an exclusive lock on a per-card file (released by
the kernel when the job ends, however it ends) and makes only that card visible
to TensorFlow. Cluster jobs are left alone: SLURM binds their cards itself.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

# One folder per NVIDIA card, written by the driver: counting them starts no CUDA
# context (which would take memory on every card).
NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")
LOCK_DIR = Path(tempfile.gettempdir()) / f"ablation-gpus-{os.getuid()}"

_claimed = None  # the open lock file of this process's card, kept for its lifetime


def visible_cards(environ=os.environ, driver_dir: Path = NVIDIA_GPUS) -> list[str]:
    """The cards jobs may use: CUDA_VISIBLE_DEVICES when set, else every card."""
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [c.strip() for c in visible.split(",") if c.strip() not in ("", "-1")]
    try:
        return [str(i) for i in range(len(os.listdir(driver_dir)))]
    except OSError:
        return []


def claim_card(
    environ=os.environ, lock_dir: Path = LOCK_DIR, driver_dir: Path = NVIDIA_GPUS, poll_s=1.0
) -> str | None:
    """Bind this process to one free card (sets CUDA_VISIBLE_DEVICES) and hold it
    until the process ends; call before TensorFlow starts. Waits while every card
    is taken. Returns the card, or None where there is nothing to claim: no card,
    or a SLURM job (SLURM gave it its cards)."""
    global _claimed
    cards = visible_cards(environ, driver_dir)
    if not cards or "SLURM_JOB_ID" in environ:
        return None
    lock_dir.mkdir(parents=True, exist_ok=True)
    waited = False
    while True:
        for card in cards:
            handle = open(lock_dir / f"card{card}.lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _claimed = handle
            environ["CUDA_VISIBLE_DEVICES"] = card
            log.info("GPU %s of %s", card, ",".join(cards))
            return card
        if not waited:
            log.info("all %d GPUs busy; waiting for one", len(cards))
            waited = True
        time.sleep(poll_s)


# What decides a TensorFlow job's numbers besides its inputs (config `numerics:`):
# oneDNN's kernels are chosen for the CPU's instruction set at run time, so an
# AVX2 CPU and an AVX-512 one sum in other orders unless oneDNN is capped
# (benchmarks/cpu_numerics.py); TensorFlow splits its sums by its thread count.
ONEDNN_ISA_ENV = "ONEDNN_MAX_CPU_ISA"


def configure_tensorflow(numerics: dict) -> int:
    """Set up TensorFlow as the study's ``numerics`` say, the same for every
    TensorFlow job (train, evaluate) wherever it runs: exactly ``threads`` threads
    in both pools, whatever the job's share of cores (fewer cores only slow it,
    another count changes the weights), oneDNN capped at ``onednn_max_cpu_isa``;
    GPU memory growth. Must run before TensorFlow is imported. Returns the threads.
    """
    threads = numerics["threads"]
    # The study's cap, or none: one set in the shell is not the study's.
    if numerics.get("onednn_max_cpu_isa"):
        os.environ[ONEDNN_ISA_ENV] = numerics["onednn_max_cpu_isa"]
    else:
        os.environ.pop(ONEDNN_ISA_ENV, None)
    if "tensorflow" in sys.modules:  # tests, or a script importing it too early
        log.warning("TensorFlow already imported: oneDNN's instruction set may be its own")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already running in this process (tests)
        log.warning("TensorFlow already initialised; thread pools left as they are")
    for gpu in tf.config.list_physical_devices("GPU"):
        # Several jobs may share a card; take memory as needed, not all at once.
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            log.warning("GPU already initialised; memory growth left as it is")
    return threads


# oneDNN's names for x86-64 instruction sets, lowest first, with the CPU flags
# (/proc/cpuinfo) each needs.
CPU_ISAS = {
    "SSE41": {"sse4_1"},
    "AVX": {"avx"},
    "AVX2": {"avx2", "fma"},
    "AVX512_CORE": {"avx512f", "avx512bw", "avx512vl", "avx512dq"},
}


def cpu_isa(cpuinfo: str | None = None) -> str | None:
    """The highest of CPU_ISAS this CPU has (None off x86-64 Linux)."""
    try:
        cpuinfo = cpuinfo if cpuinfo is not None else Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines()
                  if line.startswith("flags")), [])  # fmt: skip
    have = [isa for isa, needs in CPU_ISAS.items() if needs <= set(flags)]
    return have[-1] if have else None


def numerics_used(numerics: dict, cpuinfo: str | None = None) -> dict:
    """What a job's numbers were computed with: the study's settings, and the
    instruction set oneDNN ran (the CPU's, or the cap where that is lower)."""
    isa = cpu_isa(cpuinfo)
    cap = numerics.get("onednn_max_cpu_isa")
    if cap and isa and list(CPU_ISAS).index(cap) < list(CPU_ISAS).index(isa):
        isa = cap
    return {
        "threads": numerics["threads"],
        "onednn_max_cpu_isa": cap,
        "cpu_isa": isa,
        # Off ("0") runs TensorFlow's own kernels for some ops: other sums again.
        "tf_enable_onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        # False: TensorFlow's rsqrt and reciprocal, whose bits are the CPU vendor's.
        "exact_reciprocals": numerics.get("exact_reciprocals", True),
    }


def environment(numerics: dict) -> dict:
    """What this training ran on: software versions, devices, and the numerics
    (config `numerics:`, and the instruction set oneDNN ran)."""
    import platform

    import keras
    import numpy as np
    import tensorflow as tf

    gpus = [
        tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
        for gpu in tf.config.list_physical_devices("GPU")
    ]
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "gpus": gpus,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "numerics": numerics_used(numerics),
    }


def cpu_model() -> str:
    """The CPU's name, with its family and model where the name alone does not tell
    the kind (a virtual machine's "AMD EPYC" is Zen 3, 4 or 5)."""
    facts = {}
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            key, _, value = line.partition(":")
            facts.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    if "model name" in facts:
        name = facts["model name"]
        if "cpu family" in facts and "model" in facts:
            name += f" (family {facts['cpu family']}, model {facts['model']})"
        return name
    import platform

    return platform.processor() or "unknown"
