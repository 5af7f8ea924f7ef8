"""What a TensorFlow job runs on: its threads, and its GPU when several trainings
run at once on one machine.

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


def configure_tensorflow(threads: int) -> int:
    """Thread pools from the rule's ``threads`` (never more than this process may
    run on), GPU memory growth: the same for every TensorFlow job (train, evaluate).
    Must run before TensorFlow's first op. Returns the threads used.
    """
    import tensorflow as tf

    threads = max(1, min(threads, len(os.sched_getaffinity(0))))
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
