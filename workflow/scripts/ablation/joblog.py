"""Running a rule's work with everything it prints sent to the rule's log."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import sys
from typing import Callable

from . import atomic
from .errors import StudyError

# The job's own stderr (Snakemake's terminal) while run_logged sends 1 and 2 to the log.
_console = None


def say(line: str) -> None:
    """One line to the console, and to the log."""
    logging.info("%s", line)
    if _console is not None:
        print(line, file=_console, flush=True)


@contextlib.contextmanager
def _fds_to(path: str):
    """Point file descriptors 1 and 2 at ``path``: catches Keras's progress and
    TensorFlow's C++ logging, which bypass Python's sys.stdout/sys.stderr."""
    global _console
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    _console = os.fdopen(os.dup(saved[1]), "w", buffering=1, encoding="utf-8")
    with open(path, "a", buffering=1, encoding="utf-8") as log_file:
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
        try:
            yield
        finally:
            _console.close()
            _console = None
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _interrupt_once() -> None:
    """The first SIGINT raises KeyboardInterrupt, later ones are ignored: a Ctrl-C
    reaches a job twice (from the terminal, and passed on by Snakemake,
    ablation/interrupts.py), and the second must not interrupt its cleanup."""

    def once(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGINT, once)
    except ValueError:  # not the main thread (a test calling in): left as it is
        pass


def run_logged(logs, work: Callable[[], object], code: str | None = None) -> None:
    """Run ``work()`` with output to the job's log (``logs[0]``); exit 1 with a
    one-line cause on an expected error (bad data, impossible architecture).

    ``logs.status``, where the rule declares one, reads "running" until ``work()``
    has returned, then "done" (see job_log in rules/common.smk).

    ``code``: the job's code identity file (ablation/code.py). A job that loaded a
    library module the identity does not list fails, naming it: a change to that
    module would otherwise leave its results stale.
    """
    _interrupt_once()
    log_path = logs[0]
    status = getattr(logs, "status", None)
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    if status:
        atomic.write_text(status, "running\n")
    try:
        with _fds_to(log_path):
            logging.basicConfig(
                stream=sys.stderr,
                level=logging.INFO,
                format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                force=True,
            )
            try:
                work()
                if code:
                    check_code_seen(code)
            except StudyError as exc:
                logging.error("%s", exc)
                raise
            except KeyboardInterrupt:
                logging.error("stopped by an interrupt (Ctrl-C or a signal to Snakemake)")
                raise
            except BaseException:
                logging.exception("job failed")
                raise
    except StudyError as exc:
        print(f"error: {exc} (log: {log_path})", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        # Not a failure of the job: no traceback. A training keeps its checkpoints.
        print(f"stopped by an interrupt; run again to resume (log: {log_path})", file=sys.stderr)
        sys.exit(130)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # Outputs are written atomically: what was built before stays as it was.
        where = f" writing {exc.filename}" if exc.filename else ""
        print(f"error: no space left on the disk{where}; free some and run again", file=sys.stderr)
        sys.exit(1)
    if status:
        atomic.write_text(status, "done\n")


def check_code_seen(identity_file: str) -> None:
    from .code import unseen_modules

    unseen = unseen_modules(identity_file)
    if unseen:
        names = ", ".join(f"workflow/scripts/{path}" for path in unseen)
        first = unseen[0].removesuffix(".py").replace("/", ".")
        raise StudyError(
            f"code: this job loaded {names}, which its code identity {identity_file} does "
            "not list (a module loaded by importlib or __import__ is not seen, so a change "
            f"to it would rerun nothing); import it plainly (import {first}) and run again"
        )


def input_paths(value) -> list[str]:
    """A named input of a rule as a list: Snakemake hands a one-file list over as
    the file itself."""
    return [value] if isinstance(value, str) else list(value)
