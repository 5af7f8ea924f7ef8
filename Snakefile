# A reproducible CNN ablation study on MNIST:
# download -> split -> train (per variant and seed) -> evaluate -> plot -> report.md
#
#   snakemake --cores 4 report.md
#
# The study is config.yaml (the schema: workflow/schemas/config.schema.yaml); profiles/
# say where and how jobs run.

import sys

from snakemake.utils import min_version

min_version("9.0")

# The study's library (workflow/scripts/ablation), also used by the rule scripts.
sys.path.insert(0, f"{workflow.basedir}/workflow/scripts")
from ablation import loading

# config.yaml is the default study; `--config study=NAME` reads config/NAME.yaml
# over it, and --configfile files over that (ablation/loading.py).
STUDY_FILES = loading.study_files(workflow)


configfile: "config.yaml"


if STUDY_FILES.named:

    configfile: STUDY_FILES.named


# Checked against the schema, typed, normalized: the study every rule reads.
STUDY = loading.load_study(workflow, config, STUDY_FILES)


include: "workflow/rules/common.smk"
include: "workflow/rules/sequential_inputs.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/sequential.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/plot.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/targets.smk"
# Last: its checks read every rule.
include: "workflow/rules/hooks.smk"


rule all:
    default_target: True
    input:
        REPORT,
