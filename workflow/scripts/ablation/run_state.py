"""What a run leaves when it stops, and whether another run holds this folder: the
lines that end a run that stopped, and that refuse one that cannot start. Read by
the Snakefile, never by a job."""

from __future__ import annotations

import functools
import os
import shlex
import sys
from pathlib import Path

import psutil


class Refusal(SystemExit):
    """A run refused while the Snakefile is read, before any job: its one line is
    the last thing printed (a WorkflowError there is followed by Snakemake's
    "File ..., line" trailer). Exit status 1. Here, not in errors.py: every job's
    code identity includes errors.py, so a change there would rerun every study."""


# The signals Snakemake's process received (record_signals), for its last line.
SIGNALS: list[int] = []


def record_signals() -> None:
    """Note each SIGINT and SIGTERM, then let the handler in place act on it
    (interrupts.stop_jobs_on_signal's, installed before)."""
    import signal

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)

        def note(received, frame, previous=previous):
            SIGNALS.append(received)
            if callable(previous):
                previous(received, frame)
            else:
                raise KeyboardInterrupt

        signal.signal(signum, note)


def command_as_typed() -> str:
    return shlex.join(["snakemake", *sys.argv[1:]])


@functools.cache
def _typed():
    """The typed command line, read by Snakemake's own parser; None where this is
    not one (a test, a script)."""
    from snakemake.cli import get_argument_parser

    try:
        return get_argument_parser().parse_args(sys.argv[1:])
    except SystemExit:
        return None


def typed_targets() -> set[str]:
    """The targets typed (Snakemake knows them only after reading the Snakefile)."""
    return set(_typed().targets) if _typed() else set()


def execution_options() -> tuple[str, ...]:
    """How the typed command runs its jobs, as typed: its --cores (or --jobs),
    --profile, --workflow-profile and --executor; --cores 4, as the README, where
    it typed none of them (a dry run or --report needs no cores, a run does). A
    command printed for the user to type next keeps these: on a cluster, or with
    fewer cores, the advice runs as the run itself did."""
    typed = _typed()
    if typed is None:
        return ("--cores", "4")
    words = []
    if typed.cores is not None:
        words += ["--cores", str(typed.cores)]
    elif typed.jobs is not None:
        words += ["--jobs", str(typed.jobs)]
    for option, value in (
        ("--profile", typed.profile),
        ("--workflow-profile", typed.workflow_profile),
        ("--executor", typed.executor),
    ):
        for each in value if isinstance(value, list) else [value] if value else []:
            words += [option, str(each)]
    return tuple(words) or ("--cores", "4")


def other_runs_here() -> list[int]:
    """The pids of the Snakemake processes other than this one (and its own jobs)
    whose working folder is this one."""
    me = psutil.Process()
    mine = {me.pid, *(p.pid for p in me.children(recursive=True)), *(p.pid for p in me.parents())}
    here = os.getcwd()
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
        info = proc.info
        words = info.get("cmdline") or []
        is_snakemake = any(os.path.basename(w) == "snakemake" for w in words[:2]) or (
            "-m" in words[:3] and "snakemake" in words[:4]
        )
        if is_snakemake and info.get("cwd") == here and info["pid"] not in mine:
            found.append(info["pid"])
    return sorted(found)


def lock_refusal(locks: Path, command: str) -> str | None:
    """Where this folder is locked: one line saying whether the run holding it is
    alive (wait) or not (unlock, then the command); None where it is not locked."""
    if not locks.is_dir() or not any(locks.iterdir()):
        return None
    alive = other_runs_here()
    if alive:
        return (
            f"another Snakemake run (pid {', '.join(map(str, alive))}) is running this study "
            f"in {os.getcwd()}: wait for it to end, or stop it with Ctrl-C in its terminal "
            "(do not --unlock while it runs)"
        )
    return (
        "a run of this study stopped without releasing its lock (no Snakemake runs in "
        f"{os.getcwd()} now): snakemake --unlock, then {command}"
    )


def _last_error(log: Path) -> str:
    """A job log's last error, as its job said it: the message of its last ERROR
    line, or for an unexpected failure the exception that ended the traceback."""
    lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
             if line.strip()]  # fmt: skip
    errors = [line for line in lines if " ERROR " in line]
    if not errors:
        return "stopped before it finished"
    message = errors[-1].split(": ", 1)[-1]
    return lines[-1].strip() if message == "job failed" else message


def stopped_line(results: str, report: str, command: str, interrupted: bool = False) -> str:
    """The last line of a run that stopped before the study was finished: what
    happened (each unfinished job's own words, from its log; ``interrupted``: the
    run was, even where no job had begun to write), what is kept, and the command
    to continue."""
    unfinished = []
    for status in sorted(Path(results, "logs").rglob("*.status")):
        if status.read_text(encoding="utf-8").strip() == "running":
            log = status.with_suffix(".log")
            name = str(log.relative_to(Path(results, "logs")).with_suffix(""))
            unfinished.append((name, _last_error(log) if log.is_file() else "did not start"))
    stopped_by_interrupt = [name for name, why in unfinished if "interrupt" in why]
    failed = [(name, why) for name, why in unfinished if "interrupt" not in why]
    if failed:
        what = f"{failed[0][0]} failed: {failed[0][1]}"
        what += f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    elif stopped_by_interrupt:
        what = f"interrupted ({', '.join(stopped_by_interrupt)})"
    elif interrupted:
        what = "interrupted"
    else:
        what = "stopped"
    trainings = any(name.startswith("train/") for name, _ in unfinished)
    kept = "every finished job's files" + (
        ", and the unfinished trainings' last epochs" if trainings else ""
    )
    return f"The run stopped before {report} was done: {what}. Kept: {kept}. To continue: {command}"
