# `seeds: auto`: what the sequential rules read while the DAG grows: the looks taken
# (through the look checkpoint), the seeds they call for, the design's lock, and the
# cost announced before any training (ablation/sequential.py, looks.py).

import json

from ablation import design_lock, looks, sequential, sequential_simulation
from ablation.config import ConfigError

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
            STUDY,
            DESIGN_FILE,
            len(looks_on_disk()),
            lambda: study_command(as_typed=True, sequential=amend),
        )
    except ConfigError as exc:
        raise Refusal(str(exc)) from None


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
        # A look decides only from jobs that finished: their statuses read "done".
        "finished": [rules.evaluate.log.status.format(**r) for r in chosen]
        + [rules.train.log.status.format(**r) for r in chosen]
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
    planning = STUDY.sequential_settings
    margin = STUDY.margin
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
    power = STUDY.statistics["power"]
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
