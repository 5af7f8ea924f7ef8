# What a run checks and sets up once every rule is read, and what it does when it
# starts and ends: the HTML report's front page, the checks of the folder (a report
# asked before the study, a lock, a copied study), the code identities (a recorded
# refactor keeps results), the cost of a sequential study, and the signal, SLURM and
# provenance hooks.

import atexit

from snakemake.io import strip_wildcard_constraints

from ablation import interrupts, provenance, refactors, run_state, slurm_status
from ablation.code import code_identity, rule_definition


def refuse_report_before_study():
    """snakemake --report collects the study's flagged files: before the study is
    built there are none, and Snakemake's own words ("File report.md marked for
    report but does not exist") do not say what to run first."""
    asked = any(a == "--report" or a.startswith("--report=") for a in sys.argv[1:])
    if asked and workflow.is_main_process and not os.path.exists(REPORT):
        raise Refusal(
            f"snakemake --report: this study is not built yet ({REPORT} is missing): "
            f"build it first with `{study_command(as_typed=True)}`, then run snakemake --report again"
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
        raise Refusal(refusal)


# Changes to rules' code recorded as making the same files (ablation/refactors.py).
REFACTORS_FILE = WORKFLOW_DIR / "refactors.yaml"
try:
    REFACTORS = refactors.read(REFACTORS_FILE)
except refactors.RegistryError as error:
    raise Refusal(str(error))


def write_code_identities():
    if not workflow.is_main_process:
        return
    kept = {}  # a recorded refactor's change: the rules whose results it kept
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
        script = Path(os.path.relpath(os.path.normpath(Path(declared.basedir) / declared.script)))
        out, definition = Path(named["code"]), rule_definition(roles)
        new = refactors.identity_text(script, SCRIPTS / "ablation", SCRIPTS, definition)
        old = out.read_text(encoding="utf-8") if out.is_file() else None
        if old == new:
            continue
        for change in keep_results_across_refactors(declared.name, out, old, new):
            kept.setdefault(change, []).append(declared.name)
        code_identity(script, SCRIPTS / "ablation", SCRIPTS, out, definition)
    for change, names in kept.items():
        print(
            f"Kept the results of {', '.join(names)}: their code changed by a refactor "
            f"recorded in {REFACTORS_FILE} to make the same files ({change}).",
            file=sys.stderr,
        )


def keep_results_across_refactors(rule_name, out, old, new):
    """Where the rule's identity file (text ``old``) differs from this code's (``new``)
    by recorded refactors alone (workflow/refactors.yaml), move the records of what
    was made from it to the new identity before it is written: those jobs stay done.
    Returns the changes of the refactors that kept some result."""
    used = old is not None and refactors.explaining(rule_name, old, new, REFACTORS)
    # None moved: nothing was made from the old identity that Snakemake knows of.
    if not used or not provenance.move_checksums(RESULTS, str(out), old, new):
        return []
    return [r.change for r in used]


def record_unfinished_jobs():
    """Close the one gap of job_log: a job killed in the instant between Snakemake
    deleting its outputs and logs and the job writing "running" leaves no status.
    Where a job's status and some of its outputs are missing while files made from
    them exist, record "running" for it, as it would have."""
    so_far = runs_so_far()
    checks = [
        (rules.split, {}, [f"{RUN.format(**r)}/model.keras" for r in so_far]),
        *[(rules.train, r, [f"{RUN.format(**r)}/test_metrics.json"]) for r in so_far],
        *[(rules.evaluate, r, [rules.metrics.output[0]]) for r in so_far],
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


# snakemake --report report.html: the flagged outputs, opening on the study's
# results once the report rule has written them, on what the study is before.
REPORT_FRONT_PAGE = (
    os.path.abspath(FRONT_PAGE) if os.path.exists(FRONT_PAGE) else "workflow/report/workflow.rst"
)


report: REPORT_FRONT_PAGE


refuse_report_before_study()
refuse_a_locked_folder()
# A study copied without .snakemake/ (cp -r, rsync, a tarball) gets back the
# records of how its files were made, which it carries (ablation/provenance.py).
if workflow.is_main_process:
    provenance.restore(RESULTS)
write_code_identities()
record_unfinished_jobs()
announce_sequential_cost()

# On SLURM, a job cancelled by scancel (sacct: "CANCELLED by <uid>") must end the
# run, not be waited on forever (workflow/scripts/ablation/slurm_status.py). The
# executor is not yet known while the Snakefile is read; the wrapper changes
# nothing for the others.
slurm_status.accept_cancelled_by()


# SIGINT or SIGTERM to Snakemake's process alone stops its running jobs at once, as
# a terminal's Ctrl-C does, so a training keeps its epoch checkpoints and the next
# run resumes it (ablation/interrupts.py). Set here: Snakemake sets its own
# handlers after reading the Snakefile.
onstart:
    if workflow.local_exec:
        interrupts.stop_jobs_on_signal()
        run_state.record_signals()


# The study keeps the records of how its files were made, finished or not.
onsuccess:
    provenance.save(RESULTS, also=[REPORT])


onerror:
    provenance.save(RESULTS, also=[REPORT])
    # The last line on the screen, after Snakemake's own: what stopped, what is
    # kept, how to continue.
    atexit.register(
        print,
        run_state.stopped_line(
            RESULTS, REPORT, run_state.command_as_typed(), bool(run_state.SIGNALS)
        ),
        file=sys.stderr,
    )
