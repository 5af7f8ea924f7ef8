# A reproducible CNN ablation study on MNIST:
# download -> split -> train (per variant and seed) -> evaluate -> plot -> report.md
#
#   snakemake --cores 4 report.md
#
# The study is config.yaml; profiles/ say where and how jobs run.

import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")


# The study's library (workflow/scripts/ablation), also used by the rule scripts.
sys.path.insert(0, f"{workflow.basedir}/workflow/scripts")
from ablation.config import (
    ConfigError,
    check_config,
    check_schema,
    check_yaml_file,
    from_command_line,
    replace_sets,
)
from ablation import slurm_status

# config.yaml is the default study; a study file given with --configfile holds what
# it changes and is merged over it, as Snakemake does, except that a file naming
# `variants` or `comparisons` replaces that set rather than adding to it.
STUDY_FILES = ["config.yaml", *workflow.config_settings.configfiles]
try:
    for study_file in STUDY_FILES:
        check_yaml_file(study_file)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None


configfile: "config.yaml"


for study_file in STUDY_FILES[1:]:
    replace_sets(config, study_file)

# Stop before any job, with one line naming the key at fault.
CONFIG_SCHEMA = f"{workflow.basedir}/workflow/schemas/config.schema.yaml"
try:
    from_command_line(config, workflow.config_settings.config, CONFIG_SCHEMA)
    check_schema(config, CONFIG_SCHEMA)
    validate(config, "workflow/schemas/config.schema.yaml")
    check_config(config)
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


record_unfinished_jobs()
announce_sequential_cost()

# On SLURM, a job cancelled by scancel (sacct: "CANCELLED by <uid>") must end the
# run, not be waited on forever (workflow/scripts/ablation/slurm_status.py). The
# executor is not yet known while the Snakefile is read; the wrapper changes
# nothing for the others.
slurm_status.accept_cancelled_by()


rule all:
    default_target: True
    input:
        REPORT,


# One target per variant, to build or rerun a single variant without the others:
#   snakemake --cores 4 variant_baseline
for _variant in VARIANTS:

    rule:
        name:
            f"variant_{_variant}"
        input:
            lambda wc, variant=_variant: run_files("test_metrics.json", [variant]),
            f"{RESULTS}/{_variant}/curves.png",
            f"{RESULTS}/{_variant}/confusion.png",
