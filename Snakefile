# A reproducible CNN ablation study on MNIST:
# download -> split -> train (per variant and seed) -> evaluate -> plot -> report.md
#
#   snakemake --cores 4 report.md
#
# The study is config.yaml; profiles/ say where and how jobs run.

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/plot.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        "report.md",
