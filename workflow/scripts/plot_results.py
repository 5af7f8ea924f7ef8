"""Rule plot_results: test accuracy per variant, the study's headline figure."""

import json

import yaml

from ablation import plotting, reporting
from ablation.joblog import run_logged


def main(smk):
    with open(smk.input.verdicts, encoding="utf-8") as f:
        judged = json.load(f)
    with open(smk.input.reference, encoding="utf-8") as f:
        reference = yaml.safe_load(f)
    # The original's numbers only where this study's set-up is its own.
    original = {} if judged["setup_differences"] else reference.get("variants", {})
    plotting.plot_test_accuracy(
        reporting.read_metrics(smk.input.metrics),
        smk.params.variants,
        original,
        1 - judged["alpha"],
        smk.output[0],
    )


run_logged(snakemake.log, lambda: main(snakemake))  # noqa: F821
