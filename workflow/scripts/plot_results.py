"""Rule plot_results: test accuracy per variant, the study's headline figure."""

import json

from ablation import plotting, reporting
from ablation.joblog import run_logged


def main(smk):
    with open(smk.input.verdicts, encoding="utf-8") as f:
        judged = json.load(f)
    plotting.plot_test_accuracy(
        reporting.read_metrics(smk.input.metrics),
        smk.params.variants,
        judged["original"],  # empty where this study's set-up is not the original's
        1 - judged["alpha"],
        smk.output[0],
    )


run_logged(snakemake.log, lambda: main(snakemake))  # noqa: F821
