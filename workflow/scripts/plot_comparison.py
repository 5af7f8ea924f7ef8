"""Rule plot_comparison: one metric over epochs, all variants on one figure."""

import pandas as pd

from ablation import plotting
from ablation.joblog import run_logged


def main(smk):
    histories = {}
    for run, path in zip(smk.params.runs, smk.input.histories, strict=True):
        histories.setdefault(run["variant"], []).append(pd.read_csv(path))
    plotting.plot_comparison(histories, smk.wildcards.metric, smk.output[0])


run_logged(snakemake.log, lambda: main(snakemake))  # noqa: F821
