"""Rule plot_comparison: loss and accuracy over epochs, all variants, one 2x2 figure."""

import pandas as pd

from ablation import plotting
from ablation.joblog import run_logged


def main(smk):
    histories = {}
    for run, path in zip(smk.params.runs, smk.input.histories, strict=True):
        histories.setdefault(run["variant"], []).append(pd.read_csv(path))
    plotting.plot_comparison(histories, smk.output[0], smk.params.accuracy_as)


run_logged(snakemake.log, lambda: main(snakemake))  # noqa: F821
