"""Snakemake's own cost on a finished study: planning, and re-rendering the report.

    .venv/bin/python benchmarks/workflow_overhead.py [--repeat 5] [--project .]

Times, on a study whose report.md is up to date (nothing to train):
(a) ``snakemake -n report.md``, the dry run that plans the whole DAG and checks every
file, and (b) ``snakemake --cores 1 report.md --forcerun report``, the report alone
rendered again. Each is run ``--repeat`` times; the median and the slowest are shown
beside the goals (3 s and 5 s). Nothing is trained: it stops if the dry run finds
work to do.
"""

from __future__ import annotations

import argparse
import pkgutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
GOALS = {"dry run": 3.0, "report re-render": 5.0}


def timed(project: Path, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [SNAKEMAKE, *args], cwd=project, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return seconds, done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    _, plan = timed(args.project, "-n", "report.md")
    if "Nothing to be done" not in plan:
        sys.exit(f"{args.project}: the study is not finished; run snakemake report.md first")
    commands = {
        "dry run": ("-n", "report.md"),
        "report re-render": ("--cores", "1", "report.md", "--forcerun", "report"),
    }
    # Snakemake imports every installed executor plugin at each start: say which.
    plugins = sorted(
        m.name for m in pkgutil.iter_modules() if m.name.startswith("snakemake_executor_plugin_")
    )
    print(
        f"{args.project}, {args.repeat} runs each; executor plugins: {', '.join(plugins) or 'none'}"
    )
    print(f"{'step':<18}{'median s':>10}{'slowest s':>11}{'goal s':>8}")
    for name, command in commands.items():
        times = [timed(args.project, *command)[0] for _ in range(args.repeat)]
        print(f"{name:<18}{statistics.median(times):>10.2f}{max(times):>11.2f}{GOALS[name]:>8.1f}")


if __name__ == "__main__":
    main()
