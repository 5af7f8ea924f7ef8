"""A sequential study (`seeds: auto`) end to end on tiny data: seeds added in looks,
one comparison stopping at the first look and one going on, stopped between looks
(and by Ctrl-C) and resumed, nothing trained twice, and a finished study left alone."""

import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass

import pandas as pd
import psutil
import pytest

from conftest import SNAKEMAKE, check, project_copy, snakemake, tiny_config, write_config

pytestmark = pytest.mark.workflow


def sequential_config(cap=3):
    config = tiny_config()
    config["seeds"] = "auto"
    # Looks after 2 and 3 seeds; never stopped for futility, so what goes on, goes on.
    config["sequential"] = {"first_look": 2, "seeds_per_look": 1, "cap": cap, "futility": 0}
    # A sigmoid output whose loss Keras takes from the stored logits trains the
    # softmax baseline bit for bit: that comparison is settled at the first look.
    config["variants"]["sigmoid_logits"] = {
        "conv_filters": [32, 64, 64],
        "dense_units": [64, 64],
        "output_activation": "sigmoid",
    }
    config["comparisons"].append({"variant": "sigmoid_logits", "against": "baseline"})
    return config


@dataclass
class Stopped:
    returncode: int
    output: str
    seconds: float  # from the Ctrl-C until Snakemake and all its jobs had ended


def ctrl_c_when_a_training_starts(project, *targets) -> Stopped:
    """Run Snakemake in a process group of its own, as a terminal does, and press
    Ctrl-C (SIGINT to the whole group) as soon as a training job's process exists."""
    job = subprocess.Popen(
        [SNAKEMAKE, "--cores", "2", *targets], cwd=project, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    snakemake_process = psutil.Process(job.pid)
    deadline = time.monotonic() + 300
    while not any(
        "train.py" in " ".join(child.cmdline())
        for child in snakemake_process.children(recursive=True)
    ):
        assert job.poll() is None and time.monotonic() < deadline, "no training started"
        time.sleep(0.05)
    group = [snakemake_process, *snakemake_process.children(recursive=True)]
    os.killpg(job.pid, signal.SIGINT)
    start = time.monotonic()
    output, _ = job.communicate(timeout=120)
    _, alive = psutil.wait_procs(group, timeout=120)
    assert not alive, f"still running after Ctrl-C: {alive}"
    return Stopped(job.returncode, output, time.monotonic() - start)


def planned_trainings(result) -> int:
    found = re.search(r"^train\s+(\d+)$", result.stdout, re.MULTILINE)
    return int(found[1]) if found else 0


def test_a_sequential_study_adds_seeds_only_where_undecided_and_resumes(tmp_path, mnist_npz):
    project = project_copy(tmp_path / "project", sequential_config())
    (project / "resources").mkdir()
    (project / "resources" / "mnist.npz").write_bytes(mnist_npz.read_bytes())

    # Stopped after the first look, as a run cut short between looks.
    first = check(snakemake(project, "results/sequential/look1.json"))
    assert "Sequential study: looks at 2, 3 seeds; 9 trainings at most" in first.stderr
    look1 = json.loads((project / "results/sequential/look1.json").read_text())
    decisions = {c["variant"]: c["decision"] for c in look1["comparisons"]}
    assert decisions == {"with_bn": "continue", "sigmoid_logits": "identical"}
    assert look1["open"] == [0]
    design = json.loads((project / "results/sequential/design.json").read_text())
    assert design["looks"] == [2, 3] and design["z_boundaries"][-1] < design["z_boundaries"][0]
    assert not (project / "results/baseline/seed3").exists()  # nothing past the look yet
    models = {p: p.stat().st_mtime_ns for p in (project / "results").glob("*/seed*/model.keras")}
    assert len(models) == 6

    # The same command as a user's: only the open comparison's variants get seed 3.
    plan = check(snakemake(project, "-n", "report.md"))
    assert planned_trainings(plan) == 2
    assert "Left: up to 2 trainings" in plan.stderr

    # Ctrl-C between the looks, while a training of look 2 is starting up (before
    # TensorFlow is loaded): it stops at once, not at its end, and nothing of it
    # counts as done.
    stopped = ctrl_c_when_a_training_starts(project, "report.md")
    assert stopped.returncode != 0
    assert stopped.seconds < 60, f"stopped after {stopped.seconds:.0f} s"
    assert not list((project / "results").glob("*/seed3/model.keras"))
    assert not (project / "results/sequential/look2.json").exists()
    assert (
        stopped.output.strip()
        .splitlines()[-1]
        .startswith("The run stopped before report.md was done: interrupted")
    ), stopped.output
    assert stopped.output.strip().endswith("To continue: snakemake --cores 2 report.md")
    # The rerun plans only what is missing: look 2's two trainings, nothing of look 1.
    assert planned_trainings(check(snakemake(project, "-n", "report.md"))) == 2
    check(snakemake(project, "report.md"))
    metrics = pd.read_csv(project / "results/metrics.csv")
    seeds = metrics.groupby("variant")["seed"].apply(sorted).to_dict()
    assert seeds == {"baseline": [1, 2, 3], "with_bn": [1, 2, 3], "sigmoid_logits": [1, 2]}
    # Seeds 1 and 2 are the first look's and were not trained again.
    assert {p: p.stat().st_mtime_ns for p in models} == models

    look2 = json.loads((project / "results/sequential/look2.json").read_text())
    (with_bn,) = look2["comparisons"]
    assert with_bn["variant"] == "with_bn" and with_bn["n"] == 3
    assert with_bn["decision"] in ("different", "equivalent", "not decided")
    judged = json.loads((project / "results/verdicts.json").read_text())
    accuracy = judged["comparisons"][0]["results"][0]
    if accuracy["tested"]:  # the repeated interval of the last look, not a t interval
        assert [accuracy["low"], accuracy["high"]] == pytest.approx(with_bn["interval"])

    report = (project / "report.md").read_text()
    assert "## Seeds added in looks" in report
    assert "Lan, K. K. G. & DeMets, D. L. (1983)" in report
    assert "| with_bn vs baseline | 1 | 2 |" in report and "| continue |" in report
    assert "| sigmoid_logits vs baseline | 1 | 2 | +0.00 pp | – | – | – | identical |" in report
    assert "**Stopped at look 2, after 3 seeds**" in report
    # After each look: what is open, its best chance at the cap, what going on costs.
    assert "- After look 1 (2 seeds): 1 comparison open, up to 2 trainings to the cap;" in report
    look_log = (project / "results/logs/sequential/look1.log").read_text()
    assert "Look 1 (2 seeds): with_bn vs baseline: continue (" in look_log
    assert "chance to be decided by the cap of 3 at the spread seen; up to 2 trainings)" in look_log
    assert "Sequential design `results/sequential/design.json`, SHA-256 `" in report
    assert "seeds added in looks until each comparison was decided" in report

    # Finished: nothing to do, however often asked.
    done = check(snakemake(project, "-n", "report.md"))
    assert "Nothing to be done" in done.stdout + done.stderr

    # The design is locked once a look is taken: a higher cap is refused before
    # any job, in one line naming the key, its locked value and the ways out.
    design_bytes = (project / "results/sequential/design.json").read_bytes()
    write_config(project / "config.yaml", sequential_config(cap=4))
    refused = snakemake(project, "report.md")
    assert refused.returncode != 0
    (line,) = [l for l in refused.stderr.splitlines() if "config: sequential.cap" in l]
    assert "4 changes the sequential design locked at 3 by look 1" in line
    printed = line.split(
        "amend this one, its report then saying which error rates no longer hold: "
    )[1]
    assert printed == "snakemake --cores 2 report.md --config 'sequential={amend: true}'"
    assert (project / "results/sequential/design.json").read_bytes() == design_bytes

    # Amended as printed: the looks are taken again under the new design (only what
    # they leave undecided trains on), and the report says the rates no longer hold.
    check(snakemake(project, *shlex.split(printed)[3:], cores=4))
    design = json.loads((project / "results/sequential/design.json").read_text())
    amendment = design["amendment"]
    assert amendment["after_look"] == 2 and amendment["changes"] == {"cap": [3, 4]}
    assert amendment["first_design_sha256"] == hashlib.sha256(design_bytes).hexdigest()
    seeds = pd.read_csv(project / "results/metrics.csv").groupby("variant")["seed"].max()
    relooked = json.loads((project / "results/sequential/look2.json").read_text())
    reopened = relooked["open"] == [0]
    assert seeds.to_dict() == {
        "baseline": 4 if reopened else 3,
        "with_bn": 4 if reopened else 3,
        "sigmoid_logits": 2,
    }
    assert {p: p.stat().st_mtime_ns for p in models} == models
    report = (project / "report.md").read_text()
    assert "**The design was changed after look 2** (`sequential: amend`): cap 3 → 4." in report
    # In the verdict lines too (sigmoid_logits, identical, decided no test).
    assert "**The design changed after look 2**: this verdict's error rates" in report
    # Amended once, amended for good: the amendment is kept on the next run.
    again = check(snakemake(project, "-n", "report.md", "--config", "sequential={amend: true}"))
    assert "Nothing to be done" in again.stdout + again.stderr

    # Power is the study's: 0.9 reaches the design file, the printed cost and the
    # report, and retrains nothing.
    power = ("--config", "sequential={amend: true}", "statistics={power: 0.9}")
    plan = check(snakemake(project, "-n", "report.md", *power))
    assert planned_trainings(plan) == 0
    assert "a fixed design of 90% power at the target: 13 seeds, 39 trainings" in plan.stderr
    check(snakemake(project, "report.md", *power))
    design = json.loads((project / "results/sequential/design.json").read_text())
    assert design["power"] == 0.9 and design["fixed_seeds_for_power"] == 13
    assert (
        "A fixed design with 90% power at the target would train 13 seeds"
        in (project / "report.md").read_text()
    )


def test_a_finished_fixed_study_continues_sequentially_from_its_seeds(tmp_path, mnist_npz):
    """The README's order: the study with fixed seeds, then in the same folder
    `--config seeds=auto`. Its seeds are the first look's: the look is taken from
    them and report.md becomes the sequential one (Snakemake used to find nothing to
    do: the fixed report stood behind a checkpoint that had not run)."""
    config = sequential_config()
    config["seeds"] = [1, 2]
    # One comparison is enough here (four trainings, not six).
    del config["variants"]["sigmoid_logits"]
    config["comparisons"] = config["comparisons"][:1]
    project = project_copy(tmp_path / "project", config)
    (project / "resources").mkdir()
    (project / "resources" / "mnist.npz").write_bytes(mnist_npz.read_bytes())
    check(snakemake(project, "report.md", cores=4))
    assert "## Seeds added in looks" not in (project / "report.md").read_text()
    models = {p: p.stat().st_mtime_ns for p in (project / "results").glob("*/seed*/model.keras")}
    assert len(models) == 4

    auto = ("--config", "seeds=auto")
    plan = check(snakemake(project, "-n", "report.md", *auto))
    assert "Nothing to be done" not in plan.stdout + plan.stderr
    check(snakemake(project, "report.md", *auto, cores=4))
    look1 = json.loads((project / "results/sequential/look1.json").read_text())
    assert look1["n"] == 2 and [c["variant"] for c in look1["comparisons"]] == ["with_bn"]
    report = (project / "report.md").read_text()
    assert "## Seeds added in looks" in report
    assert "seeds added in looks until each comparison was decided" in report
    # Seeds 1 and 2 were the first look's, not trained again.
    assert {p: p.stat().st_mtime_ns for p in models} == models
    done = check(snakemake(project, "-n", "report.md", *auto))
    assert "Nothing to be done" in done.stdout + done.stderr
