"""Whole-study throughput: trainings one at a time against several at once.

    .venv/bin/python benchmarks/study_throughput.py [--rounds 2] [--seeds 2] [--modes a,b]

A scaled-down default study (every variant of config.yaml, --seeds seeds, one epoch
on --train-limit images) runs through Snakemake with the default profile, from an
empty results/ each time, in each of these ways side by side, the order alternating
between rounds:

- ``serial (before)``: ``--resources gpu=1`` and 4 threads a training, how the
  default profile ran trainings before: one at a time, each with all the cores
  given (up to 4);
- ``default``: the workflow as it is, which on CPUs alone runs trainings side by
  side (the study's ``numerics: threads``, 1);
- ``T threads``: ``numerics: threads`` T (TensorFlow's threads, part of the study)
  and as many cores reserved a training, for T = 1, 2, 4 up to the core count;
- ``default (--cores 2C)`` and ``1 thread (--cores 2C)``: twice as many cores given
  as there are CPUs (the README's ``--cores 4`` on a 2-core machine).

For each: wall time, training images per second of the whole machine (all runs'
training images / wall time), and cores busy (CPU time of Snakemake and its jobs /
wall time). The dataset must already be in resources/ (``snakemake --cores 1
resources/mnist.npz``); it is copied into each run's project.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
from ablation.devices import cpu_model  # noqa: E402

NOT_PROJECT = shutil.ignore_patterns(
    ".git", ".venv", ".snakemake", "results", "report.md", "report.html", "__pycache__"
)


def study(seeds: int, train_limit: int) -> dict:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["seeds"] = seeds
    config["training"]["epochs"] = 1
    config["split"].update(train_limit=train_limit, test_limit=2000)
    return config


def run(project: Path, cores: int, extra: tuple[str, ...]) -> tuple[float, float]:
    """Wall seconds and CPU seconds of one whole study from an empty results/."""
    shutil.rmtree(project / "results", ignore_errors=True)
    shutil.rmtree(project / ".snakemake", ignore_errors=True)
    (project / "report.md").unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [SNAKEMAKE, "--cores", str(cores), "report.md", *extra],
        cwd=project, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"snakemake {' '.join(extra)} failed:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--train-limit", type=int, default=20000)
    parser.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--modes", help="comma-separated names of the ways to run (all by default)")
    args = parser.parse_args()

    dataset = REPO / "resources" / "mnist.npz"
    if not dataset.exists():
        sys.exit(f"{dataset} is missing: snakemake --cores 1 resources/mnist.npz first")
    config = study(args.seeds, args.train_limit)
    trainings = len(config["variants"]) * args.seeds
    images = trainings * round(args.train_limit * (1 - config["split"]["validation_fraction"]))
    c = args.cores

    # name -> (--cores, other options)
    def threads(t):  # the target comes first: --config takes every word after it
        return ("--set-threads", f"train={t}", "--config", f"numerics={{threads: {t}}}")

    modes = {"serial (before)": (c, ("--resources", "gpu=1", *threads(min(4, c))))}
    modes["default"] = (c, ())
    modes |= {f"{t} thread{'s' * (t > 1)}": (c, threads(t)) for t in (1, 2, 4) if t <= c}
    modes[f"default (--cores {2 * c})"] = (2 * c, ())
    modes[f"1 thread (--cores {2 * c})"] = (2 * c, threads(1))

    if args.modes:
        modes = {name: modes[name] for name in args.modes.split(",")}

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        shutil.copytree(REPO, project, ignore=NOT_PROJECT)
        (project / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        print(
            f"{cpu_model()}, {args.cores} cores; {trainings} trainings of 1 epoch on "
            f"{images // trainings} images, {args.rounds} rounds"
        )
        print(f"{'round':<6}{'way':<24}{'wall s':>8}{'images/s':>10}{'cores busy':>12}")
        for r in range(1, args.rounds + 1):
            order = list(modes) if r % 2 else list(reversed(modes))
            for name in order:
                wall, cpu = run(project, *modes[name])
                print(f"{r:<6}{name:<24}{wall:>8.1f}{images / wall:>10.0f}{cpu / wall:>12.2f}")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
