"""The commands printed to whoever typed one: they run as the typed command ran."""

import sys

import pytest

from ablation import run_state


@pytest.mark.parametrize(
    "typed, options",
    [
        (["--cores", "2", "report.md"], ("--cores", "2")),
        (["-c1", "-n", "variant_baseline"], ("--cores", "1")),
        # A dry run or --report needs no cores; the command printed for a run does.
        (["-n", "report.md"], ("--cores", "4")),
        (["--report", "report.html"], ("--cores", "4")),
        (
            ["--profile", "profiles/slurm", "-j", "20", "report.md", "--config", "seeds=auto"],
            ("--jobs", "20", "--profile", "profiles/slurm"),
        ),
        (["--executor", "slurm", "--jobs", "8"], ("--jobs", "8", "--executor", "slurm")),
    ],
)
def test_a_printed_command_runs_as_the_typed_one(monkeypatch, typed, options):
    monkeypatch.setattr(sys, "argv", ["snakemake", *typed])
    run_state._typed.cache_clear()
    try:
        assert run_state.execution_options() == options
    finally:
        run_state._typed.cache_clear()


def test_the_targets_typed_are_read_as_snakemake_reads_them(monkeypatch):
    typed = ["--cores", "2", "report.md", "results/metrics.csv", "--config", "study=depth"]
    monkeypatch.setattr(sys, "argv", ["snakemake", *typed])
    run_state._typed.cache_clear()
    try:
        assert run_state.typed_targets() == {"report.md", "results/metrics.csv"}
    finally:
        run_state._typed.cache_clear()


def test_the_last_line_says_what_stopped_what_is_kept_and_how_to_continue(tmp_path):
    logs = tmp_path / "results" / "logs" / "train" / "with_bn"
    logs.mkdir(parents=True)
    command = "snakemake --cores 2 report.md"

    # Interrupted before any job had begun (a Ctrl-C while trainings start up).
    line = run_state.stopped_line(str(tmp_path / "results"), "report.md", command, True)
    assert line == (
        "The run stopped before report.md was done: interrupted. Kept: every finished "
        "job's files. To continue: snakemake --cores 2 report.md"
    )

    # A training that said it was interrupted, and one that failed: the failure first.
    (logs / "seed1.status").write_text("running\n")
    (logs / "seed1.log").write_text(
        "2026-12-03 08:00:00 ERROR root: stopped by an interrupt (Ctrl-C or a signal)\n"
    )
    line = run_state.stopped_line(str(tmp_path / "results"), "report.md", command, True)
    assert line.startswith(
        "The run stopped before report.md was done: interrupted (train/with_bn/seed1). Kept: "
        "every finished job's files, and the unfinished trainings' last epochs."
    )
    (logs / "seed2.status").write_text("running\n")
    (logs / "seed2.log").write_text("2026-12-03 08:00:00 ERROR root: no room for seed2\n")
    line = run_state.stopped_line(str(tmp_path / "results"), "report.md", command, True)
    assert "was done: train/with_bn/seed2 failed: no room for seed2. Kept:" in line
