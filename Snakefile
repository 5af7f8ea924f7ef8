# A reproducible CNN ablation study on MNIST:
# download -> split -> train (per variant and seed) -> evaluate -> plot -> report.md
#
#   snakemake --cores 4 report.md
#
# The study is config.yaml; profiles/ say where and how jobs run.

import atexit
import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")


# The study's library (workflow/scripts/ablation), also used by the rule scripts.
sys.path.insert(0, f"{workflow.basedir}/workflow/scripts")
from ablation.config import (
    ConfigError,
    study_files_in,
    check_schema,
    check_yaml_file,
    from_command_line,
    normalize,
    replace_sets,
    resolve_bases,
)
from ablation import atomic, interrupts, provenance, run_state, slurm_status
from ablation.study import Study

# config.yaml is the default study. A study named on the command line, `--config
# study=NAME`, reads its study file config/NAME.yaml; a study file (that one, or one
# given with --configfile) holds what it changes and is merged over config.yaml, as
# Snakemake does, except that a file naming `variants` or `comparisons` replaces
# that set rather than adding to it. Files are checked here, so that a mistake is
# one line naming file and line (Snakemake reads --configfile files before this
# Snakefile, and names neither).
STUDY_NAME = workflow.config_settings.config.get("study")
NAMED_STUDY_FILE = f"config/{STUDY_NAME}.yaml" if STUDY_NAME else None
# Only a name of config/ (never a path such as ../x): a misspelt name would
# otherwise train config.yaml's study under a new folder.
if STUDY_NAME and STUDY_NAME not in study_files_in("config"):
    raise WorkflowError(
        f"config: study: {STUDY_NAME!r} (given with --config) has no study file "
        f"{NAMED_STUDY_FILE} (study files: {', '.join(study_files_in('config')) or 'none'})"
    )
STUDY_FILES = [
    "config.yaml",
    *([NAMED_STUDY_FILE] if NAMED_STUDY_FILE else []),
    *workflow.config_settings.configfiles,
]
try:
    STUDY_FILE_KEYS = {study_file: check_yaml_file(study_file) for study_file in STUDY_FILES}
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None


configfile: "config.yaml"


# (A study file of comments only changes nothing; Snakemake refuses it as a config.)
if NAMED_STUDY_FILE and STUDY_FILE_KEYS[NAMED_STUDY_FILE]:

    configfile: NAMED_STUDY_FILE


for study_file in STUDY_FILES[1:]:
    replace_sets(config, STUDY_FILE_KEYS[study_file])

# A disk already full stops the run here, in one line, not in Snakemake's lock file.
if workflow.is_main_process and not atomic.has_room("."):
    # Snakemake's own log file cannot be written either: closed, so that this line
    # is all that is printed.
    for handler in list(workflow.logger_manager.logfile_handlers):
        workflow.logger_manager.logger.removeHandler(handler)
        handler.close()
    raise WorkflowError(
        f"no space left on the disk of {os.getcwd()} (less than 1 MB free): free some "
        "and run again; nothing was changed"
    )

# Stop before any job, with one line naming the key at fault.
CONFIG_SCHEMA = f"{workflow.basedir}/workflow/schemas/config.schema.yaml"
try:
    from_command_line(config, workflow.config_settings.config, CONFIG_SCHEMA)
    resolve_bases(config)
    check_schema(config, CONFIG_SCHEMA)
    validate(config, "workflow/schemas/config.schema.yaml")
    normalize(config)  # keys sorted: a result's identity is the study's meaning
    # The study, described once: every rule and script reads it (ablation/study.py).
    STUDY = Study.from_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/sequential.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/plot.smk"
include: "workflow/rules/report.smk"


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


# The study keeps the records of how its files were made, finished or not.
onsuccess:
    provenance.save(RESULTS, also=[REPORT])


onerror:
    provenance.save(RESULTS, also=[REPORT])
    # The last line on the screen, after Snakemake's own: what stopped, what is
    # kept, how to continue.
    atexit.register(
        print,
        run_state.stopped_line(RESULTS, REPORT, run_state.command_as_typed()),
        file=sys.stderr,
    )


rule all:
    default_target: True
    input:
        REPORT,


# A named study writes studies/NAME/: the default study's report.md or results/...
# asked for instead is refused with this study's command (Snakemake's own words,
# "No rule to produce report.md", would not say where the report is).
if STUDY_DIR:

    rule default_study_path:
        input:
            lambda wc: refuse_default_study_path(wc.path),
        output:
            "{path}",
        wildcard_constraints:
            path=r"report\.md|results/.*",


# One target per variant, to build or rerun a single variant without the others:
#   snakemake --cores 4 variant_baseline
for _variant in VARIANTS:

    rule:
        name:
            f"variant_{_variant}"
        input:
            lambda wc, variant=_variant: run_files("test_metrics.json", [variant]),
            [figure_path(f, _variant) for f in FIGURES.values() if f.per_variant],
