"""Rule plot_variant: training vs validation curves of one variant over its seeds."""

import pandas as pd

from ablation import plotting
from ablation.joblog import run_logged


def main(smk):
    histories = [pd.read_csv(path) for path in smk.input.histories]
    plotting.plot_variant(histories, smk.wildcards.variant, smk.output[0])


run_logged(snakemake.log, lambda: main(snakemake))  # noqa: F821
