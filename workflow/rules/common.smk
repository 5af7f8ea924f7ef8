# Helpers shared by the rules: paths, and the library files each rule's script
# imports.

import hashlib
import json
import os
import re
from pathlib import Path

from ablation import datasets, devices, metrics, models

# Files of the workflow itself, found from the Snakefile, as paths relative to the
# working directory: Snakemake records input paths, and relative ones stay the
# same when the whole project folder is moved or copied.
WORKFLOW_DIR = Path(os.path.relpath(Path(workflow.basedir) / "workflow"))
SCRIPTS = WORKFLOW_DIR / "scripts"

VARIANTS = list(config["variants"])
# An integer N is seeds 1..N (`--config seeds=5` adds seeds 4 and 5 to the default
# three, which are kept); otherwise a list.
SEEDS = (
    list(range(1, config["seeds"] + 1))
    if isinstance(config["seeds"], int)
    else list(config["seeds"])
)
DATASET = config["data"]["name"]
DATASET_SPEC = datasets.dataset_spec(DATASET)
# Where the study's files go: results/ and report.md, or for a study with a name
# (`study:` in the config), studies/{name}/results/ and studies/{name}/report.md,
# so that studies sit side by side. The datasets in resources/ are shared.
STUDY_DIR = f"studies/{config['study']}/" if config["study"] else ""
RESULTS = f"{STUDY_DIR}results"
REPORT = f"{STUDY_DIR}report.md"
RUN = f"{RESULTS}/{{variant}}/seed{{seed}}"
# NVIDIA cards of this machine. Each training claims one for itself, or waits for
# one (ablation/devices.py), so a machine trains on all its cards at once and never
# two trainings on one card. No `gpu` limit is set here: without cards the cores
# alone say how many train at once (--resources gpu=N still sets one).
LOCAL_GPUS = len(devices.visible_cards())


def train_threads():
    """Threads of one training job. On CPUs alone: 1, so trainings run side by side,
    as many as --cores allows. That was the fastest way through a study
    (benchmarks/study_throughput.py: on 2 cores, two 1-thread trainings at once
    finished 1.3-1.5x sooner than one 2-thread training at a time), and the weights
    do not depend on --cores (TensorFlow's results change with its thread count).
    With cards, one training per card shares the cores, at most 4 feeding each (as
    profiles/slurm asks on a cluster, whose set-threads replaces this)."""
    if not LOCAL_GPUS:
        return 1
    # --cores as given (None for --report, --unlock and other runs without jobs).
    cores = workflow.resource_settings.cores or len(os.sched_getaffinity(0))
    trainings = len(VARIANTS) * len(SEEDS)
    return max(1, min(4, cores // min(LOCAL_GPUS, trainings)))


FRONT_PAGE = f"{RESULTS}/front_page.rst"
TRAIN_BENCHMARK = f"{RESULTS}/benchmarks/train/{{variant}}/seed{{seed}}.tsv"
VERDICT_METRICS = list(metrics.COMPARED)


# Only the study's own variants and seeds: a path naming another is refused by name.
wildcard_constraints:
    variant="|".join(re.escape(v) for v in VARIANTS),
    seed="|".join(str(s) for s in SEEDS),


def library(*modules):
    """The library files a script imports: Snakemake tracks a script's own text,
    not what it imports, so these are declared as inputs to rerun on change."""
    common = ("__init__", "atomic", "errors", "joblog")
    return [str(SCRIPTS / "ablation" / f"{m}.py") for m in (*common, *modules)]


def arch(variant):
    """The full architecture of a variant, defaults filled in by the schema."""
    return {k: config["variants"][variant][k] for k in models.ARCHITECTURE_KEYS}


def config_sha256():
    """A fingerprint of the study as validated (defaults filled in): of the data, its
    name (the registry holds its hashes), not where it was fetched from; no execution
    settings."""
    study = {k: v for k, v in config.items() if k not in ("execution", "study")}
    study["data"] = DATASET
    return hashlib.sha256(json.dumps(study, sort_keys=True).encode()).hexdigest()


def runs(variants=None):
    """(variant, seed) of every training run, in config order."""
    return [{"variant": v, "seed": s} for v in (variants or VARIANTS) for s in SEEDS]


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


def record_unfinished_jobs():
    """Close the one gap of job_log: a job killed in the instant between Snakemake
    deleting its outputs and logs and the job writing "running" leaves no status.
    Where a job's status and some of its outputs are missing while files made from
    them exist, record "running" for it, as it would have."""
    checks = [
        (rules.split, {}, run_files("model.keras")),
        *[(rules.train, r, [f"{RUN.format(**r)}/test_metrics.json"]) for r in runs()],
        *[(rules.evaluate, r, [rules.metrics.output[0]]) for r in runs()],
        (rules.metrics, {}, [rules.verdicts.output[0], REPORT]),
        (rules.verdicts, {}, [rules.plot_differences.output[0], REPORT]),
        (rules.plot_differences, {}, [REPORT]),
        (rules.plot_results, {}, [REPORT]),
        *[(rules.plot_variant, {"variant": v}, [REPORT]) for v in VARIANTS],
        (rules.plot_comparison, {}, [REPORT]),
    ]
    for rule, wildcards, made_from in checks:
        status = rule.log.status.format(**wildcards)
        outputs = expand(rule.output, **wildcards)
        if (
            not os.path.exists(status)
            and not all(os.path.exists(f) for f in outputs)
            and any(os.path.exists(f) for f in made_from)
        ):
            Path(status).parent.mkdir(parents=True, exist_ok=True)
            Path(status).write_text("running\n")
