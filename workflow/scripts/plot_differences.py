"""Rule plot_differences: the forest plot of every comparison's paired differences."""

import json

from ablation import plotting
from ablation.joblog import run_logged


def main(smk):
    with open(smk.input.verdicts, encoding="utf-8") as f:
        judged = json.load(f)
    plotting.plot_differences(judged, smk.params.metrics, smk.output[0])


run_logged(snakemake.log, lambda: main(snakemake))  # noqa: F821
