"""A stop of Snakemake's own process stops its jobs too, so no finished epoch is lost.

A terminal's Ctrl-C reaches Snakemake and its jobs together (one process group):
each training stops at once, keeps its epoch checkpoints, and the next run resumes
it. A signal to Snakemake's process alone (``kill -INT``, a service manager's
SIGTERM, a ``nohup`` wrapper, a batch system) does not reach the jobs: on SIGINT
Snakemake waits for them, so a training ran to its last epoch, was then marked
incomplete and its checkpoints removed, and the next run trained it again from
epoch 0; on SIGTERM it waits for every running job to finish, however long. This
module makes both signals act as Ctrl-C does, and lets a training notice that
Snakemake's process is gone altogether (``kill -9``), which no signal reports.
"""

from __future__ import annotations

import os
import signal

import psutil

# The pid of the Snakemake process that runs this machine's jobs, for its jobs.
SNAKEMAKE_PID = "ABLATION_SNAKEMAKE_PID"


def signal_children(signum: int = signal.SIGINT) -> list[int]:
    """Send ``signum`` to every process this one started (its jobs and theirs),
    SIGINT as a terminal's Ctrl-C would; return their pids."""
    sent = []
    for child in psutil.Process().children(recursive=True):
        try:
            child.send_signal(signum)
            sent.append(child.pid)
        except psutil.NoSuchProcess:  # ended in the meantime
            pass
    return sent


def stop_jobs_on_signal() -> None:
    """On SIGINT or SIGTERM: interrupt this process's jobs, then stop as Ctrl-C
    does (Snakemake's KeyboardInterrupt path: jobs marked incomplete, the lock
    released); on a second signal while they stop, terminate them. Install after
    Snakemake's own handlers (``onstart``), and only where jobs are this machine's
    processes: a cluster executor cancels its jobs itself."""
    signals = []

    def stop(signum, frame):
        signals.append(signum)
        if len(signals) > 1:
            signal_children(signal.SIGTERM)
            return
        signal_children(signal.SIGINT)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    os.environ[SNAKEMAKE_PID] = str(os.getpid())  # inherited by every job


def snakemake_is_gone() -> bool:
    """Whether the Snakemake process this job was started by has ended (killed
    with no chance to stop its jobs). False where no such process is known: a
    cluster job, a test calling in."""
    pid = os.environ.get(SNAKEMAKE_PID)
    if not pid:
        return False
    try:
        return psutil.Process(int(pid)).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
