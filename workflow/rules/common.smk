# Helpers shared by the rules: the study's paths, runs, figures and job logs.

import json
import os
import re
import sys
from pathlib import Path

from ablation import dataset_checks, design_lock, looks, metrics, run_state, sequential
from ablation import sequential_simulation
from ablation.config import ConfigError
from ablation.errors import DataError
from ablation.code import code_identity, rule_definition
from snakemake.io import strip_wildcard_constraints
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
TF_THREADS = config["numerics"]["threads"]


FRONT_PAGE = f"{RESULTS}/front_page.rst"


def study_command(**config_values):
    """The command that builds this study (Study.command), with ``config_values``
    over the --config values it was given."""
    return STUDY.command(
        workflow.config_settings.config, workflow.config_settings.configfiles, **config_values
    )


def refuse_default_study_path(path):
    raise WorkflowError(
        f"{path} is the default study's; this study ({STUDY.name}) writes "
        f"{STUDY_DIR}, its report {REPORT}: {study_command()}"
    )


def refuse_report_before_study():
    """snakemake --report collects the study's flagged files: before the study is
    built there are none, and Snakemake's own words ("File report.md marked for
    report but does not exist") do not say what to run first."""
    asked = any(a == "--report" or a.startswith("--report=") for a in sys.argv[1:])
    if asked and workflow.is_main_process and not os.path.exists(REPORT):
        raise WorkflowError(
            f"snakemake --report: this study is not built yet ({REPORT} is missing): "
            f"build it first with `{study_command()}`, then run snakemake --report again"
        )


# Options under which Snakemake does not lock the folder (nothing runs).
NOT_LOCKING = {"--unlock", "--summary", "-S", "--detailed-summary", "-D", "--lint", "--nolock",
               "--list-rules", "-l", "--dag", "--rulegraph", "--filegraph", "--touch", "-t",
               "--cleanup-metadata", "--list-changes", "--lc"}  # fmt: skip


def refuse_a_locked_folder():
    """Snakemake's own lock message suggests --unlock even while the run holding the
    lock is alive: say which it is, in one line, before any job."""
    words = set(sys.argv[1:])
    if (
        not workflow.is_main_process
        or workflow.dryrun
        or words & NOT_LOCKING
        or any(w.startswith("--report") for w in words)
    ):
        return
    refusal = run_state.lock_refusal(Path(".snakemake") / "locks", run_state.command_as_typed())
    if refusal:
        raise WorkflowError(refusal)


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


def write_code_identities():
    if not workflow.is_main_process:
        return
    for declared in workflow.rules:
        named = dict(declared.input._allitems())
        if "code" not in named or not declared.script:
            continue
        roles = [
            *[("input", n, v) for n, v in declared.input._allitems() if n != "code"],
            # Without their wildcard constraints (which list the study's variants).
            *[
                ("output", n, strip_wildcard_constraints(str(v)))
                for n, v in declared.output._allitems()
            ],
            *[("params", n, v) for n, v in declared.params._allitems()],
        ]
        code_identity(
            Path(os.path.relpath(os.path.normpath(Path(declared.basedir) / declared.script))),
            SCRIPTS / "ablation",
            SCRIPTS,
            Path(named["code"]),
            rule_definition(roles),
        )


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


LOOK = f"{RESULTS}/sequential/look{{k}}.json"
DESIGN_FILE = f"{RESULTS}/sequential/design.json"


def read_look(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def taken_look(k):
    """Look k's file through the look checkpoint (its get: it raises while the look
    has not run, inside input functions); None for a first look not taken yet.

    Snakemake leaves a job whose output exists alone while an input of it waits on a
    checkpoint that has not run (snakemake PR 4124), its other inputs unchecked: the
    report of a fixed study, asked for again with `seeds: auto`, would stay. So the
    first look, until it is on disk, is a plain input (look_files()), which Snakemake sees
    missing: it takes the look, then evaluates the input functions again."""
    if k == 1 and not os.path.exists(LOOK.format(k=1)):
        return None
    return checkpoints.look.get(k=k).output[0]


def sequential_seeds(look_path):
    """Seeds per variant once the looks so far have decided. ``look_path(k)``: look
    k's file; None where it is not there yet (read from disk at parse time), or it
    raises while the checkpoint has not run (its get, inside input functions)."""
    open_after = []
    for k in range(1, len(DESIGN.looks) + 1):
        path = look_path(k)
        if path is None:
            break
        open_after.append(read_look(path)["open"])
        if not open_after[-1]:
            break
    return looks.seeds_after(DESIGN, COMPARISONS, VARIANTS, open_after)


def looks_on_disk():
    """The look files already written, in order (read while the Snakefile is read)."""
    taken = []
    while os.path.exists(LOOK.format(k=len(taken) + 1)):
        taken.append(LOOK.format(k=len(taken) + 1))
    return taken


def design_amendment():
    """Once a look is taken the design is locked (ablation/design_lock.py): a
    changed key is refused here, before any job, unless `sequential: {amend: true}`
    accepts it; then what changed, after which look, for the design file."""
    if not SEQUENTIAL:
        return None
    given = workflow.config_settings.config.get("sequential")
    amend = {**(given if isinstance(given, dict) else {}), "amend": True}
    try:
        return design_lock.check(
            config, DESIGN_FILE, len(looks_on_disk()), study_command(sequential=amend)
        )
    except ConfigError as exc:
        raise WorkflowError(str(exc)) from None


DESIGN_AMENDMENT = design_amendment()


def runs_so_far():
    """The runs known while the Snakefile is read: in a sequential study, those of
    the looks already on disk."""
    if not SEQUENTIAL:
        return runs()
    on_disk = looks_on_disk()
    return runs(seeds=sequential_seeds(lambda k: on_disk[k - 1] if k <= len(on_disk) else None))


def look_runs(wildcards):
    """Look k's previous look (none for the first) and the runs it reads: the
    variants of the comparisons still open after look k - 1 (every comparison at the
    first look), over the look's seeds."""
    k = int(wildcards.k)
    previous = [checkpoints.look.get(k=k - 1).output[0]] if k > 1 else []
    still_open = read_look(previous[0])["open"] if previous else range(len(COMPARISONS))
    variants = sorted({COMPARISONS[i][role] for i in still_open for role in ("variant", "against")})
    return previous, [
        {"variant": v, "seed": s} for v in variants for s in range(1, DESIGN.looks[k - 1] + 1)
    ]


def look_inputs(wildcards):
    previous, chosen = look_runs(wildcards)
    return {
        "design": DESIGN_FILE,
        "previous": previous,
        "tests": [f"{RUN.format(**r)}/test_metrics.json" for r in chosen],
        "facts": [f"{RUN.format(**r)}/training.json" for r in chosen],
        "finished": [rules.evaluate.log.status.format(**r) for r in chosen]
        + [rules.design.log.status],
    }


def look_files(wildcards=None):
    """The look files taken so far (the checkpoint's outputs), up to the one after
    which no comparison is open; none for a fixed list of seeds."""
    if not SEQUENTIAL:
        return []
    if taken_look(1) is None:
        return [LOOK.format(k=1)]  # a plain input until taken (taken_look)
    taken = []
    for k in range(1, len(DESIGN.looks) + 1):
        taken.append(taken_look(k))
        if not read_look(taken[-1])["open"]:
            break
    return taken


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


def record_unfinished_jobs():
    """Close the one gap of job_log: a job killed in the instant between Snakemake
    deleting its outputs and logs and the job writing "running" leaves no status.
    Where a job's status and some of its outputs are missing while files made from
    them exist, record "running" for it, as it would have."""
    checks = [
        (rules.split, {}, [f"{RUN.format(**r)}/model.keras" for r in runs_so_far()]),
        *[(rules.train, r, [f"{RUN.format(**r)}/test_metrics.json"]) for r in runs_so_far()],
        *[(rules.evaluate, r, [rules.metrics.output[0]]) for r in runs_so_far()],
        (rules.metrics, {}, [rules.verdicts.output[0], *figures_reading("metrics"), REPORT]),
        (rules.verdicts, {}, [*figures_reading("verdicts"), REPORT]),
        *[
            (getattr(rules, f"plot_{key}"), {"variant": v} if v else {}, [REPORT])
            for key, v, _ in figure_files()
        ],
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


# A training's wall time where this machine has none measured yet: the default study
# took 36 min for 15 trainings on 2 cores, four at once (benchmarks/README.md).
ROUGH_TRAINING_CORE_MINUTES = 36 * 2 / 15


def announce_sequential_cost():
    """Before any training, what a sequential study may cost: its worst case and
    expected number of trainings (by simulation under the design's planning sd),
    those already trained, and the wall time left, from this machine's training
    benchmarks where there are any."""
    if not SEQUENTIAL or not workflow.is_main_process or not workflow.resource_settings.cores:
        return
    planning = config["sequential"]
    margin = config["statistics"]["margins"][sequential.PRIMARY]["margin"]
    # At most: every comparison still open goes on to the cap.
    on_disk = looks_on_disk()
    if os.path.exists(DESIGN_FILE) and read_look(DESIGN_FILE)["looks"] != list(DESIGN.looks):
        on_disk = []  # another design: its looks are taken again
    still_open = read_look(on_disk[-1])["open"] if on_disk else range(len(COMPARISONS))
    most = {r["variant"]: r["seed"] for r in runs_so_far()}
    for i in still_open:
        for v in (COMPARISONS[i]["variant"], COMPARISONS[i]["against"]):
            most[v] = DESIGN.cap
    every = runs(seeds=most)
    trained = [r for r in every if os.path.exists(f"{RUN.format(**r)}/model.keras")]
    expected = sequential_simulation.expected_trainings(
        DESIGN, COMPARISONS, VARIANTS, planning["planning_sd"], margin, 0.0
    )
    at_once = max(1, workflow.resource_settings.cores // TF_THREADS)
    benchmarks = [TRAIN_BENCHMARK.format(**r) for r in trained]
    benchmarks = [b for b in benchmarks if os.path.exists(b)]
    if benchmarks:
        seconds = sum(float(Path(b).read_text().splitlines()[1].split()[0]) for b in benchmarks)
        minutes = seconds / len(benchmarks) / 60
        source = f"{minutes:.1f} min a training as measured here, {at_once} at once"
        per_training = minutes / at_once
    else:
        cpus = len(os.sched_getaffinity(0))
        per_training = ROUGH_TRAINING_CORE_MINUTES / cpus
        source = f"a rough {ROUGH_TRAINING_CORE_MINUTES:.1f} core-minutes a training, {cpus} cores"
    power = config["statistics"]["power"]
    fixed = sequential_simulation.fixed_seeds_for_power(
        planning["target"], planning["planning_sd"], DESIGN.alpha, power
    )
    fixed_cost = (
        f"{fixed} seeds, {fixed * len(VARIANTS)} trainings" if fixed else "over 1,000 seeds"
    )
    left_worst = len(every) - len(trained)
    left_expected = min(left_worst, max(0.0, expected - len(trained)))
    print(
        f"Sequential study: looks at {', '.join(map(str, DESIGN.looks))} seeds; "
        f"{DESIGN.cap * len(VARIANTS)} trainings at most, about {expected:.0f} expected if "
        f"no variant differs (a fixed design of {100 * power:g}% power at the target: "
        f"{fixed_cost}); {len(trained)} trained, {len(on_disk)} looks taken. "
        f"Left: up to {left_worst} trainings, "
        f"about {per_training * left_worst / 60:.1f} h at most and "
        f"{per_training * left_expected / 60:.1f} h expected ({source}).",
        file=sys.stderr,
    )
