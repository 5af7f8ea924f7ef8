"""Record a refactor: a change to what RULE's jobs run that makes the same files.

    .venv/bin/python workflow/scripts/record_refactor.py RULE [RULE ...] --change TEXT
        [--study NAME] [--cores N]

Run it in the project folder after changing the code, on a study finished with the
code before the change and not yet run with the new one (its results/code/RULE.txt
still names the old code). In a scratch copy of the folder it reruns every job of
the RULEs with the new code and compares each output with the study's, byte for
byte (in text outputs, all but the report's "Generated ... from commit" line). When
all are the same, it adds the change to workflow/refactors.yaml as the identity
lines it removed and added: from then on a study whose identity differs from the
code's by recorded refactors alone keeps its results (ablation/refactors.py). When
any differs, it records nothing, names the files and exits 1. The study itself is
only read. Not a rule: a maintainer's tool (docs/reruns.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import filecmp
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablation import atomic, refactors  # noqa: E402
from ablation.study import study_folder  # noqa: E402

REGISTRY = Path("workflow") / "refactors.yaml"
HEADER = """\
# Refactors: changes to what a rule's jobs run that make the same files from the same
# inputs, each checked by workflow/scripts/record_refactor.py on the studies named
# (their jobs rerun with the new code, every output the same byte for byte). A study
# whose code identity differs from this code's by these alone keeps its results
# (workflow/scripts/ablation/refactors.py, docs/reruns.md).
"""
# What made the report, not what it says: when, by which Snakemake, from which commit
# (report.md and its HTML page alike).
GENERATED = re.compile(
    r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC by Snakemake .*?\.(?=\s|<|$)", re.DOTALL
)
# What the scratch copy leaves out: not the study, or rebuilt on demand.
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", ".pytest_cache", "conda", "singularity", "locks", "log"
)


class Refused(SystemExit):
    """A refusal in one line; exit status 1."""

    def __init__(self, message: str):
        super().__init__(f"record_refactor: {message}")


def snakemake(folder: Path, args: list[str]) -> subprocess.CompletedProcess:
    # The Snakemake installed beside this Python (the project's .venv), else the PATH's.
    beside = Path(sys.executable).with_name("snakemake")
    exe = str(beside) if beside.is_file() else shutil.which("snakemake") or "snakemake"
    return subprocess.run([exe, *args], cwd=folder, capture_output=True, text=True)


def planned_jobs(stdout: str) -> dict[str, int]:
    """Jobs per rule from a dry run's "Job stats" table."""
    table = stdout.split("Job stats:", 1)[1] if "Job stats:" in stdout else ""
    rows = re.findall(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)
    return {rule: int(n) for rule, n in rows if rule != "total"}


def outputs_of(folder: Path, rules: set[str], target: list[str]) -> list[str]:
    """Every output file of the ``rules``' jobs (snakemake --summary's rule column)."""
    result = snakemake(folder, ["--summary", *target])
    if result.returncode:
        raise Refused(f"snakemake --summary failed:\n{result.stderr[-2000:]}")
    rows = [line.split("\t") for line in result.stdout.splitlines()[1:]]
    return sorted(row[0] for row in rows if len(row) > 2 and row[2] in rules)


def describe(project: Path, folder: str, study: str | None) -> str:
    """Which study was checked: its name, size and config SHA-256 (as its report's)."""
    table = pd.read_csv(project / f"{folder}results/metrics.csv")
    report = (project / f"{folder}results/code/report.txt").read_text(encoding="utf-8")
    sha = re.search(r"^params config_sha256: (\w+)$", report, re.MULTILINE)
    return (
        f"{'study ' + study if study else 'the default study (config.yaml)'}"
        f"{', sequential' if (project / f'{folder}results/sequential').is_dir() else ''} "
        f"(variants: {table['variant'].nunique()}, seeds: {table['seed'].nunique()}, epochs: "
        f"{table['epochs'].max()}, config SHA-256 {sha.group(1)[:12] if sha else '?'})"
    )


def cpu() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(
            line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")
        )
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def check_plan(planned: dict[str, int], rules: list[str]) -> None:
    """The dry run plans jobs of the named rules, each of them, and of no other."""
    others = {rule: n for rule, n in planned.items() if rule not in rules}
    if others:
        listed = ", ".join(f"{rule} ({n})" for rule, n in others.items())
        raise Refused(
            f"other jobs would run first: {listed}. The study is not up to date with this "
            "code for them: name their rules too if they are part of the refactor"
        )
    unchanged = [rule for rule in rules if rule not in planned]
    if unchanged:
        raise Refused(
            f"no job of {', '.join(unchanged)} would run: its code identity in this study "
            "is already this code's (nothing to record), or the study is not built"
        )


def same(old: Path, new: Path) -> bool:
    if not old.is_file() or not new.is_file():
        return False
    if filecmp.cmp(old, new, shallow=False):
        return True
    try:
        texts = [GENERATED.sub("", p.read_text(encoding="utf-8")) for p in (old, new)]
    except UnicodeDecodeError:
        return False
    return texts[0] == texts[1]


def record(new: list[refactors.Refactor], registry: Path) -> None:
    """Add each refactor of ``new``, or its check to the same change already recorded."""
    entries = refactors.read(registry)
    for entry in new:
        same_change = [i for i, known in enumerate(entries) if (known.rule, known.removed,
                       known.added) == (entry.rule, entry.removed, entry.added)]  # fmt: skip
        if same_change:
            known = entries[same_change[0]]
            entries[same_change[0]] = dataclasses.replace(
                known, checked=known.checked + entry.checked
            )
        else:
            entries.append(entry)
    write_registry(registry, entries)


def write_registry(registry: Path, entries: list[refactors.Refactor]) -> None:
    text = yaml.safe_dump([e.record() for e in entries], sort_keys=False, width=100)
    atomic.write_text(registry, HEADER + text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rules", nargs="+", metavar="RULE")
    parser.add_argument("--change", required=True, help="what the refactor was, in a line")
    parser.add_argument("--study", help="a named study (config/NAME.yaml), as --config study=NAME")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args(argv)

    project = Path.cwd()
    if not (project / "Snakefile").is_file():
        raise Refused(f"run it in the project folder (no Snakefile in {project})")
    if any((project / ".snakemake" / "locks").glob("*")):
        raise Refused("a Snakemake run holds this folder (.snakemake/locks): wait for it to end")
    folder = study_folder(args.study)
    target = [f"{folder}report.md", *(["--config", f"study={args.study}"] if args.study else [])]
    code = {rule: project / f"{folder}results/code/{rule}.txt" for rule in args.rules}
    for rule, path in code.items():
        if not path.is_file():
            raise Refused(f"{path.relative_to(project)} is missing: build the study first")
    old = {rule: path.read_text(encoding="utf-8") for rule, path in code.items()}

    with tempfile.TemporaryDirectory(prefix="record_refactor-") as tmp:
        scratch = Path(tmp) / "project"
        shutil.copytree(project, scratch, ignore=NOT_COPIED, symlinks=True)
        # Checked afresh: refactors of these rules already recorded would keep their jobs.
        write_registry(
            scratch / REGISTRY,
            [r for r in refactors.read(scratch / REGISTRY) if r.rule not in args.rules],
        )
        outputs = outputs_of(scratch, set(args.rules), target)
        if not outputs:
            raise Refused(f"this study has no job of {', '.join(args.rules)}")
        # The rules' outputs as targets: their jobs and what they need, nothing after.
        options = ["--cores", str(args.cores), *target[1:], *outputs]
        dry = snakemake(scratch, ["--dry-run", *options])
        if dry.returncode:
            raise Refused(f"the dry run failed:\n{dry.stderr[-2000:]}")
        planned = planned_jobs(dry.stdout)
        check_plan(planned, args.rules)
        # The dry run wrote the new code's identities in the scratch copy.
        new = {rule: (scratch / code[rule].relative_to(project)).read_text() for rule in code}
        overwritten = [rule for rule in args.rules if old[rule] == new[rule]]
        if overwritten:
            raise Refused(
                f"the study's code identity of {', '.join(overwritten)} is already the new "
                "code's (Snakemake ran here since the change): the old one is gone. Check out "
                f"the old code, run `snakemake -n {' '.join(target)}` (it writes the old one "
                "back), then check out the new code and run this again"
            )
        run = snakemake(scratch, options)
        if run.returncode:
            raise Refused(f"the rerun with the new code failed:\n{run.stderr[-3000:]}")
        differ = [f for f in outputs if not same(project / f, scratch / f)]
        if differ:
            print(f"record_refactor: not a refactor, {len(differ)} of {len(outputs)} outputs "
                  "differ with the new code:", *differ, sep="\n  ", file=sys.stderr)  # fmt: skip
            raise SystemExit(1)

    checked = (
        f"{describe(project, folder, args.study)}: {len(outputs)} outputs of "
        f"{sum(planned.values())} jobs, {cpu()}, {datetime.date.today().isoformat()}"
    )
    changes = {rule: refactors.lines_changed(old[rule], new[rule]) for rule in args.rules}
    record([refactors.Refactor(rule, args.change, (checked,), tuple(removed), tuple(added))
            for rule, (removed, added) in changes.items()], project / REGISTRY)  # fmt: skip
    print(
        f"record_refactor: {len(outputs)} outputs of {sum(planned.values())} jobs the same; "
        f"recorded in {REGISTRY}: {', '.join(args.rules)}. Commit it with the change."
    )


if __name__ == "__main__":
    main()
