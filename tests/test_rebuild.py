"""Only what changed is rebuilt, and one variant can be (re)built on its own.

Each test edits a copy of the finished tiny study (config, template or library
code) and asks Snakemake what it would rebuild (``--summary`` lists every output
with its plan), or runs a single-variant target and checks that no other file was
touched.
"""

import os
import re
import shutil

import pytest
import yaml

from ablation.figures import FIGURES
from conftest import REPO, check, project_copy, snakemake, tiny_config

pytestmark = pytest.mark.workflow

# The report rule's outputs: report.md, and for snakemake --report its page and
# front page.
REPORT = {"report.md", "results/report_page.html", "results/front_page.rst"}
AGGREGATES = REPORT | {
    "results/metrics.csv",
    "results/verdicts.json",
    "results/comparison/differences.png",
    "results/comparison/test_accuracy.png",
    "results/comparison/curves.png",
}


def chain(variant, seed=1):
    """Every file one variant's training, evaluation and plot produce."""
    run = f"results/{variant}/seed{seed}"
    return {
        f"{run}/model.keras",
        f"{run}/history.csv",
        f"{run}/layers.json",
        f"{run}/training.json",
        f"{run}/test_metrics.json",
        f"results/{variant}/curves.png",
        f"results/{variant}/seeds.png",
        f"results/{variant}/confusion.png",
    }


def planned(project, target="report.md"):
    """The outputs Snakemake would (re)build for ``target``."""
    result = check(snakemake(project, "--summary", target))
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    header = rows.index(["output_file", "date", "rule", "log-file(s)", "status", "plan"])
    return {row[0] for row in rows[header + 1 :] if len(row) == 6 and row[5] != "no update"}


def edit_config(project, edit):
    path = project / "config.yaml"
    config = yaml.safe_load(path.read_text())
    edit(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def append(path, text):
    path.write_text(path.read_text() + text)


def test_nothing_changed_nothing_planned(study_copy):
    assert planned(study_copy) == set()


def test_editing_one_variant_rebuilds_only_that_variant(study_copy):
    edit_config(study_copy, lambda c: c["variants"]["with_bn"].update(dense_units=[32, 64]))
    assert planned(study_copy) == chain("with_bn") | AGGREGATES


def test_adding_a_variant_builds_only_the_new_one(study_copy):
    edit_config(
        study_copy,
        lambda c: c["variants"].update(
            shallower={"conv_filters": [32, 64], "dense_units": [64, 64]}
        ),
    )
    assert planned(study_copy) == chain("shallower") | AGGREGATES


def test_shared_training_settings_retrain_everything(study_copy):
    edit_config(study_copy, lambda c: c["training"].update(learning_rate=0.002))
    assert planned(study_copy) == chain("baseline") | chain("with_bn") | AGGREGATES


def test_switching_datasets_rebuilds_everything(study_copy):
    fashion = yaml.safe_load((study_copy / "config" / "fashion_mnist.yaml").read_text())
    edit_config(study_copy, lambda c: c.update(data=fashion["data"]))
    data = {"resources/fashion_mnist.npz", "resources/fashion_mnist.npz.sha256",
            "results/data/train.npz", "results/data/validation.npz",
            "results/data/test.npz"}  # fmt: skip
    assert planned(study_copy) == data | chain("baseline") | chain("with_bn") | AGGREGATES


def test_editing_the_template_rebuilds_only_the_report(study_copy):
    append(study_copy / "workflow" / "templates" / "report.md.j2", "\nA new closing line.\n")
    assert planned(study_copy) == REPORT


# A change to what the code does: one more statement.
CODE_CHANGE = "\nEDITED = True\n"


def test_changing_the_model_builder_retrains_everything(study_copy):
    append(study_copy / "workflow" / "scripts" / "ablation" / "models.py", CODE_CHANGE)
    assert planned(study_copy) == chain("baseline") | chain("with_bn") | AGGREGATES


def test_changing_the_plotting_module_redraws_only_figures_and_report(study_copy):
    append(study_copy / "workflow" / "scripts" / "ablation" / "plotting.py", CODE_CHANGE)
    figures = {p for p in AGGREGATES if p.endswith(".png")}
    per_variant = {
        f"results/{v}/{f}.png"
        for v in ("baseline", "with_bn")
        for f in ("curves", "seeds", "confusion")
    }
    assert planned(study_copy) == figures | per_variant | REPORT


NEW_PLOT = """

def plot_validation_loss(metrics, path):
    fig, ax = plt.subplots()
    ax.plot(metrics["variant"], metrics["val_loss"], "o")
    _save(fig, path)
"""
NEW_FIGURE = """
FIGURES.update(_registry(Figure(
    name="validation_loss", place="results", reads=("metrics",),
    draw=lambda d, path, _: plotting.plot_validation_loss(d.metrics, path),
    alt="Validation loss of every run", caption="The last epoch's validation loss.",
    category="Results",
)))
"""


def test_a_new_figure_is_its_function_and_one_entry(study_copy):
    # Two files: the plotting function, and its entry (with caption) in the
    # registry; its place in report.md exists. No rule, script or template edited.
    library = study_copy / "workflow" / "scripts" / "ablation"
    append(library / "plotting.py", NEW_PLOT)
    append(library / "figures.py", NEW_FIGURE)
    new = "results/comparison/validation_loss.png"
    plan = planned(study_copy)
    assert new in plan and not [p for p in plan if re.search(r"/seed\d|\.csv$", p)]  # no run
    check(snakemake(study_copy, "report.md"))
    assert (study_copy / new).read_bytes()[:4] == b"\x89PNG"
    report = (study_copy / "report.md").read_text()
    assert (
        f"![Validation loss of every run]({new})\n\n*The last epoch's validation loss.*" in report
    )
    # Under the results, before the comparisons.
    assert report.index(new) < report.index("## Comparisons")


def snapshot(project):
    """Modification time of every produced file."""
    files = [p for d in ("results", "resources") for p in (project / d).rglob("*") if p.is_file()]
    return {str(p.relative_to(project)): p.stat().st_mtime_ns for p in files}


def changed(before, after):
    return {p for p in after if before.get(p) != after[p]}


def test_variant_target_rebuilds_a_deleted_variant_and_nothing_else(study_copy):
    for path in chain("with_bn"):
        (study_copy / path).unlink()
    before = snapshot(study_copy)
    check(snakemake(study_copy, "variant_with_bn"))
    after = snapshot(study_copy)
    rebuilt = changed(before, after)
    assert chain("with_bn") <= rebuilt
    assert not {
        p
        for p in rebuilt
        # (and the study's records of how its files were made)
        if not p.startswith(
            ("results/with_bn/", "results/logs/", "results/benchmarks/", "results/.provenance/")
        )
    }
    assert not {p for p in rebuilt if "baseline" in p and ".provenance" not in p}
    # The report is an aggregate: it is brought up to date by the main target.
    assert planned(study_copy) == AGGREGATES


def test_forced_retraining_of_one_variant_leaves_the_others_alone(study_copy):
    before = snapshot(study_copy)
    check(snakemake(study_copy, "variant_baseline", "--forcerun", "train"))
    rebuilt = changed(before, snapshot(study_copy))
    assert chain("baseline") <= rebuilt
    assert not {
        p for p in rebuilt if "with_bn" in p or p.startswith(("resources/", "results/data/"))
    }


def test_more_seeds_train_only_the_new_seeds(study_copy):
    # `--config seeds=N` is seeds 1..N: the report's command for more seeds.
    result = check(snakemake(study_copy, "-n", "report.md", "--config", "seeds=2"))
    trained = set(re.findall(r"results/(\w+)/seed(\d+)/model\.keras", result.stdout))
    assert trained == {("baseline", "2"), ("with_bn", "2")}


def test_same_bytes_under_a_new_date_trigger_nothing(study_copy):
    # Snakemake compares content only below --max-checksum-file-size; the default
    # profile raises it above the data files, which are larger than its 1 MB default.
    data = study_copy / "resources" / "mnist.npz"
    assert data.stat().st_size > 1_000_000
    data.touch()
    assert planned(study_copy) == set()
    copy = study_copy.parent / "mnist-copy.npz"
    shutil.copy(data, copy)
    shutil.copy(copy, data)  # the same file put back
    assert planned(study_copy) == set()
    # The same data from a local file: where it comes from is not what it is.
    edit_config(study_copy, lambda c: c["data"].update(local_path=str(copy)))
    assert planned(study_copy) == set()


def test_a_split_rerun_that_writes_the_same_arrays_retrains_nothing(study_copy):
    check(snakemake(study_copy, "results/data/train.npz", "--forcerun", "split"))
    assert planned(study_copy) == set()


def test_a_variants_own_training_settings_retrain_it_alone(study_copy):
    edit_config(
        study_copy, lambda c: c["variants"]["with_bn"].update(training={"learning_rate": 0.01})
    )
    assert planned(study_copy) == chain("with_bn") | AGGREGATES
    check(snakemake(study_copy, "report.md"))
    report = (study_copy / "report.md").read_text()
    assert (
        "**Trained differently**: learning_rate 0.01 vs 0.001, so a difference cannot be put"
        in report
    )
    assert (
        "Trained with its own settings: 1 epoch of batch 32, adam with learning rate 0.01."
        in report
    )


def test_a_variant_rewritten_as_its_base_plus_changes_retrains_nothing(study_copy):
    # The same model, now written as an ablation of the baseline: only the report,
    # whose config fingerprint and variant descriptions change, is redone.
    edit_config(
        study_copy, lambda c: c["variants"].update(with_bn={"base": "baseline", "batch_norm": True})
    )
    assert planned(study_copy) == REPORT


def test_a_new_dataset_in_the_registry_reruns_nothing(study_copy):
    # The README's way to add a dataset or mirror: an entry in the registry, which
    # no job imports (the split takes its dataset's checks as params).
    registry = study_copy / "workflow" / "scripts" / "ablation" / "datasets.py"
    text = registry.read_text()
    entry = '\nDIGITS_AGAIN = dataclasses.replace(MNIST, name="digits_again")\n'
    registry.write_text(
        text.replace("annotations\n", "annotations\n\nimport dataclasses\n")
        .replace("\nDATASETS = {", entry + "\nDATASETS = {")
        .replace("(MNIST, FASHION_MNIST)}", "(MNIST, FASHION_MNIST, DIGITS_AGAIN)}")
    )
    assert planned(study_copy) == set()


def test_a_code_change_never_refetches_the_dataset(study_copy):
    append(study_copy / "workflow" / "scripts" / "ablation" / "datasets.py", CODE_CHANGE)
    assert "resources/mnist.npz" not in planned(study_copy)


@pytest.mark.parametrize("setting, value", [("eval_batch_size", 7), ("steps_per_execution", 2)])
def test_execution_settings_retrain_nothing(study_copy, setting, value):
    edit_config(study_copy, lambda c: c.setdefault("execution", {}).update({setting: value}))
    assert planned(study_copy) == set()


def imported_modules(path) -> set[str]:
    """The study-library modules a file imports (also inside functions)."""
    text = path.read_text(encoding="utf-8")
    found = set(re.findall(r"^\s*from (?:ablation|)\.(\w+) import", text, re.M))
    for names in re.findall(r"^\s*from (?:ablation|\.) import ([\w, ]+)", text, re.M):
        found.update(n.strip() for n in names.split(","))
    return found


def test_every_rule_reruns_on_the_library_code_its_script_runs(tiny_study):
    # Snakemake reruns a job when its script's date changes, not what the script
    # imports: each rule takes as input the identity of its script and of every
    # module it imports (results/code/{script}.txt), found here independently.
    library = REPO / "workflow" / "scripts" / "ablation"
    # A rule made in a loop (`rule:` with `name:`) is named by its name's pattern.
    rules = re.findall(
        r"^\s*(?:rule|checkpoint) ?(\w*):(.*?)^\s+script:\s+\"../scripts/(\w+)\.py\"",
        "".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk")),
        re.M | re.S,
    )
    checked = 0
    for rule, body, script in rules:
        declared = re.search(r'code=code\(f?"(\w+)(?:\{_key\})?"\)', body)
        if declared is None:
            assert rule == "download"  # a code change never refetches the dataset
            continue
        assert declared[1] in (rule, "plot_"), rule
        needed, todo = set(), imported_modules(REPO / "workflow" / "scripts" / f"{script}.py")
        while todo:
            module = todo.pop()
            needed.add(module)
            todo |= imported_modules(library / f"{module}.py") - needed
        # One identity per rule: the figures' rules (a loop) one each.
        for identity in (tiny_study / "results" / "code").glob(f"{declared[1]}*.txt"):
            lines = [l for l in identity.read_text().splitlines() if not l.startswith("#")]
            listed = {
                line.split()[0]
                for line in lines
                if not line.startswith(("input", "output", "params"))
            }
            assert {f"ablation/{m}.py" for m in needed} | {f"{script}.py"} <= listed, rule
            checked += 1
    # Every rule with a script but the download; each figure's rule of its own.
    assert checked == 8 + len(FIGURES)


@pytest.mark.parametrize(
    "path, edit",
    [
        ("ablation/training.py", lambda p: append(p, "\n# a comment\n")),
        (
            "ablation/models.py",
            lambda p: p.write_text(p.read_text().replace('"""', '"""An edited docstring. ', 1)),
        ),
        (
            "ablation/datasets.py",
            lambda p: p.write_text(p.read_text().replace("\n\n\n", "\n\n\n\n")),
        ),
        ("train.py", lambda p: p.touch()),
        ("ablation/pipeline.py", lambda p: p.touch()),
    ],
    ids=["comment", "docstring", "blank lines", "touched script", "touched module"],
)
def test_an_edit_that_cannot_change_a_result_reruns_nothing(study_copy, path, edit):
    edit(study_copy / "workflow" / "scripts" / path)
    assert planned(study_copy) == set()


def test_a_project_copied_without_its_times_reruns_nothing(tiny_study, tmp_path):
    """As `cp -r`, `rsync -r` or a clone with results/ and resources/ copied in: every
    file dated by the copy, in no particular order."""
    copy = tmp_path / "copy"
    shutil.copytree(tiny_study, copy, copy_function=shutil.copyfile)  # no times kept
    files = [p for p in copy.rglob("*") if p.is_file()]
    for i, p in enumerate(reversed(files)):  # outputs older than their inputs, too
        os.utime(p, ns=(10**18 + i, 10**18 + i))
    assert planned(copy) == set()


def test_a_swapped_input_of_a_rule_retrains_what_it_reaches(study_copy):
    """The rule that made a result is part of its identity: train and validation
    swapped in rule train (Snakemake compares inputs as a set, so by itself it sees
    nothing) plans every training and what is made from them, not the split."""
    rules = study_copy / "workflow" / "rules" / "train.smk"
    text = rules.read_text()
    swapped = text.replace(
        "train=rules.split.output.train,\n        validation=rules.split.output.validation,",
        "train=rules.split.output.validation,\n        validation=rules.split.output.train,",
    )
    assert swapped != text
    rules.write_text(swapped)
    plan = planned(study_copy)
    assert chain("baseline") | chain("with_bn") | AGGREGATES <= plan
    assert not any(p.startswith(("results/split", "resources")) for p in plan)


def test_a_module_loaded_past_the_code_identity_fails_its_job_by_name(study_copy):
    """importlib (or __import__) loads a module the code identity cannot see: the job
    fails naming it, rather than leave results that a change to it would not rerun."""
    script = study_copy / "workflow" / "scripts" / "metrics.py"
    script.write_text(
        script.read_text().replace(
            "def main(smk):",
            'def main(smk):\n    __import__("importlib").import_module("ablation.plotting")',
            1,
        )
    )
    result = snakemake(study_copy, "results/metrics.csv")
    assert result.returncode != 0
    assert (
        "code: this job loaded workflow/scripts/ablation/plotting.py, which its code identity "
        "results/code/metrics.txt does not list" in result.stderr
    )
    assert not (study_copy / "results" / "metrics.csv").exists()  # never left as finished


def test_key_order_and_a_line_holding_the_default_retrain_nothing(study_copy):
    """A result's identity is the study's meaning: training keys written in another
    order, the split's default validation fraction left out, a variant's keys
    reordered, plan nothing."""

    def rewrite(config):
        config["training"] = dict(reversed(list(config["training"].items())))
        assert config["split"].pop("validation_fraction") == 0.1  # the schema's default
        config["variants"]["with_bn"] = dict(reversed(list(config["variants"]["with_bn"].items())))

    edit_config(study_copy, rewrite)
    assert planned(study_copy) == set()


def test_a_study_copied_into_a_fresh_clone_rebuilds_nothing(tiny_study, tmp_path):
    """results/, resources/ and report.md copied into a fresh clone, as a colleague or
    a second machine receives them: no .snakemake/, every file dated by the copy in
    no particular order. The study carries the records of how its files were made
    (results/.provenance/), so nothing is rebuilt; a real change still is, with
    Snakemake's reason for each job."""
    clone = project_copy(tmp_path / "clone", tiny_config())
    for part in ("results", "resources"):
        shutil.copytree(tiny_study / part, clone / part, copy_function=shutil.copyfile)
    shutil.copyfile(tiny_study / "report.md", clone / "report.md")
    assert not (clone / ".snakemake").exists()
    files = [p for p in (clone / "results").rglob("*") if p.is_file()]
    files += [clone / "report.md", *(clone / "resources").rglob("*.npz")]
    for i, p in enumerate(reversed(files)):  # outputs older than their inputs, too
        os.utime(p, ns=(10**18 + i, 10**18 + i))
    assert planned(clone) == set()
    edit_config(clone, lambda c: c["training"].update(learning_rate=0.002))
    plan = check(snakemake(clone, "-n", "report.md"))
    assert "Params have changed since last execution" in plan.stdout + plan.stderr
    assert planned(clone) == chain("baseline") | chain("with_bn") | AGGREGATES


def test_one_figures_caption_redraws_that_figure_and_the_report(study_copy):
    figures = study_copy / "workflow" / "scripts" / "ablation" / "figures.py"
    text = figures.read_text()
    edited = text.replace('"same axes: the mean over seeds', '"same axes: the mean of the seeds')
    assert edited != text
    figures.write_text(edited)
    assert planned(study_copy) == {"results/comparison/curves.png"} | REPORT
