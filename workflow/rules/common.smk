# Helpers shared by the rules: the study's paths, runs, figures and job logs.

import json
import os
import re
import sys
from pathlib import Path

from ablation import dataset_checks, metrics, run_state
from ablation.errors import DataError
from ablation.run_state import Refusal
from ablation.figures import FIGURES, render as render_figure_text

# Files of the workflow itself, found from the Snakefile, as paths relative to the
# working directory: Snakemake records input paths, and relative ones stay the
# same when the whole project folder is moved or copied.
WORKFLOW_DIR = Path(os.path.relpath(Path(workflow.basedir) / "workflow"))
SCRIPTS = WORKFLOW_DIR / "scripts"

# Short names for the study's parts (STUDY, ablation/study.py, built in the Snakefile).
VARIANTS = list(STUDY.variants)
COMPARISONS = STUDY.comparisons
# `seeds: auto`: seeds added in looks until each comparison is decided (the
# pre-registered design of config `sequential:`, ablation/sequential.py).
SEQUENTIAL = STUDY.is_sequential
DESIGN = STUDY.design
SEEDS = STUDY.seeds
DATASET = STUDY.dataset.name
DATASET_SPEC = STUDY.dataset
STUDY_DIR = STUDY.folder
RESULTS = STUDY.results
REPORT = STUDY.report
RUN = f"{RESULTS}/{{variant}}/seed{{seed}}"
# A training's per-epoch checkpoints: kept until its evaluation (Snakemake has then
# accepted the training's outputs).
CHECKPOINTS = f"{RESULTS}/checkpoints/{{variant}}/seed{{seed}}"
# TensorFlow threads of a training or evaluation job: the study's, never --cores'
# share or a cluster job's CPUs (another count trains other weights). On CPUs, 1
# lets trainings run side by side as far as --cores allows, the fastest way
# through a study (benchmarks/study_throughput.py). With NVIDIA cards each
# training claims one of its own (ablation/devices.py); no `gpu` limit is set
# here (--resources gpu=N still sets one).
TF_THREADS = STUDY.numerics["threads"]


FRONT_PAGE = f"{RESULTS}/front_page.rst"


def study_command(as_typed=False, **config_values):
    """The command that builds this study (Study.command), with ``config_values``
    over the --config values it was given; ``as_typed``: run as the typed command
    runs (its --cores, profile, executor), for a hint printed to the one who typed
    it, rather than the README's --cores 4 (a report's advice must not depend on
    how the report was made)."""
    return STUDY.command(
        workflow.config_settings.config,
        workflow.config_settings.configfiles,
        *([run_state.execution_options()] if as_typed else []),
        **config_values,
    )


def refuse_default_study_paths():
    """A named study writes studies/NAME/: the default study's report.md or
    results/... asked of it is refused before any job, with this study's command
    (Snakemake's own words, "No rule to produce report.md", would not say where its
    report is)."""
    asked = run_state.typed_targets() if workflow.is_main_process else ()
    default = sorted(t for t in asked if t == "report.md" or t.startswith("results/"))
    if STUDY_DIR and default:
        raise Refusal(
            f"{', '.join(default)} is the default study's; this study ({STUDY.name}) "
            f"writes {STUDY_DIR}, its report {REPORT}: {study_command(as_typed=True)}"
        )


TRAIN_BENCHMARK = f"{RESULTS}/benchmarks/train/{{variant}}/seed{{seed}}.tsv"
VERDICT_METRICS = list(metrics.COMPARED)


# Only the study's own variants and seeds: a path naming another is refused by name.
wildcard_constraints:
    variant="|".join(re.escape(v) for v in VARIANTS),
    seed="|".join(str(s) for s in SEEDS),
    k=r"[1-9][0-9]*",


def code(rule_name):
    """The identity of what a job of rule ``rule_name`` runs, as a file for its
    input: the rule's script and every library module it imports, normalized
    (ablation/code.py), and the rule as declared (which input plays which role).
    Written once every rule is read (write_code_identities), and only when it
    changed, so a comment, a docstring, a touch or a copy reruns nothing, and a
    real change reruns the jobs it reaches. (Snakemake's own check of a script's
    date is off: rerun-triggers in profiles/default.)"""
    return f"{RESULTS}/code/{rule_name}.txt"


def figure_folder(figure, variant="{variant}"):
    """Where a figure of ablation/figures.py goes under results/: its variant's
    folder, or comparison/ for one of the whole study."""
    return variant if figure.per_variant else "comparison"


def figure_path(figure, variant="{variant}"):
    return f"{RESULTS}/{figure_folder(figure, variant)}/{figure.name}.png"


def figure_files():
    """(key, variant, path) of every figure: the study's, and each variant's."""
    return [
        (key, variant, figure_path(figure, variant))
        for key, figure in FIGURES.items()
        for variant in (VARIANTS if figure.per_variant else [None])
    ]


def runs(variants=None, seeds=None):
    """(variant, seed) of every training run, in config order. Sequential: the runs
    the looks taken so far call for, through the look checkpoint, so only inside
    an input function (or a params function of a rule that has look_files() as input);
    ``seeds``: how many seeds each variant has, when already known."""
    if not SEQUENTIAL:
        return [{"variant": v, "seed": s} for v in (variants or VARIANTS) for s in SEEDS]
    seeds = seeds or sequential_seeds(taken_look)
    return [
        {"variant": v, "seed": s} for v in (variants or VARIANTS) for s in range(1, seeds[v] + 1)
    ]


def run_files(name, variants=None):
    return [f"{RUN.format(**r)}/{name}" for r in runs(variants)]


def job_log(name):
    """A job's log, and its status file: "running" while the job runs, "done" once
    its outputs are written.

    Every job takes the status files of the jobs it reads from as inputs. Snakemake
    deletes a job's outputs when the job (re)starts but keeps its logs, and compares
    small files by content: a job interrupted or failed while downstream outputs
    still exist leaves "running", so those become stale and the next run redoes the
    job and everything made from it; a job that reran and finished leaves the same
    "done", so it costs its consumers nothing unless its outputs changed. (Not the
    download's: a dataset copied in by hand, offline, has no status to show.)
    """
    return {"log": f"{RESULTS}/logs/{name}.log", "status": f"{RESULTS}/logs/{name}.status"}


def finished(rule, variants=None):
    """The status file of each run's job of ``rule``."""
    return [rule.log.status.format(**r) for r in runs(variants)]


def figures_reading(table):
    return [path for key, _, path in figure_files() if table in FIGURES[key].reads]
