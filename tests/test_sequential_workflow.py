"""A sequential study (`seeds: auto`) end to end on tiny data: seeds added in looks,
one comparison stopping at the first look and one going on, stopped between looks
and resumed, nothing trained twice, and a finished study left alone."""

import json
import re

import pandas as pd
import pytest

from conftest import check, project_copy, snakemake, tiny_config, write_config

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
    assert "Sequential design `results/sequential/design.json`, SHA-256 `" in report
    assert "seeds added in looks until each comparison was decided" in report

    # Finished: nothing to do, however often asked.
    done = check(snakemake(project, "-n", "report.md"))
    assert "Nothing to be done" in done.stdout + done.stderr

    # A higher cap is another design: its looks are taken again, and only what they
    # leave undecided trains on (with_bn and baseline, seed 4), nothing else.
    write_config(project / "config.yaml", sequential_config(cap=4))
    check(snakemake(project, "report.md"))
    seeds = pd.read_csv(project / "results/metrics.csv").groupby("variant")["seed"].max()
    relooked = json.loads((project / "results/sequential/look2.json").read_text())
    reopened = relooked["open"] == [0]
    assert seeds.to_dict() == {
        "baseline": 4 if reopened else 3,
        "with_bn": 4 if reopened else 3,
        "sigmoid_logits": 2,
    }
    assert {p: p.stat().st_mtime_ns for p in models} == models


def test_a_finished_fixed_study_continues_sequentially_from_its_seeds(tmp_path, mnist_npz):
    """The README's order: the study with fixed seeds, then in the same folder
    `--config seeds=auto`. Its seeds are the first look's: the look is taken from
    them and report.md becomes the sequential one (Snakemake used to find nothing to
    do: the fixed report stood behind a checkpoint that had not run)."""
    config = sequential_config()
    config["seeds"] = [1, 2]
    project = project_copy(tmp_path / "project", config)
    (project / "resources").mkdir()
    (project / "resources" / "mnist.npz").write_bytes(mnist_npz.read_bytes())
    check(snakemake(project, "report.md", cores=4))
    assert "## Seeds added in looks" not in (project / "report.md").read_text()
    models = {p: p.stat().st_mtime_ns for p in (project / "results").glob("*/seed*/model.keras")}
    assert len(models) == 6

    auto = ("--config", "seeds=auto")
    plan = check(snakemake(project, "-n", "report.md", *auto))
    assert "Nothing to be done" not in plan.stdout + plan.stderr
    check(snakemake(project, "report.md", *auto, cores=4))
    look1 = json.loads((project / "results/sequential/look1.json").read_text())
    assert look1["n"] == 2 and {c["variant"] for c in look1["comparisons"]} == {
        "with_bn",
        "sigmoid_logits",
    }
    report = (project / "report.md").read_text()
    assert "## Seeds added in looks" in report
    assert "seeds added in looks until each comparison was decided" in report
    # Seeds 1 and 2 were the first look's, not trained again.
    assert {p: p.stat().st_mtime_ns for p in models} == models
    done = check(snakemake(project, "-n", "report.md", *auto))
    assert "Nothing to be done" in done.stdout + done.stderr
