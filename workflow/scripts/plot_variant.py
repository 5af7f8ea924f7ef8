"""Rule plot_variant: one variant's training curves over its seeds, and its test-set
confusion matrix summed over them."""

import json

import pandas as pd

from ablation import plotting
from ablation.joblog import run_logged


def main(smk):
    histories = [pd.read_csv(path) for path in smk.input.histories]
    plotting.plot_variant(histories, smk.wildcards.variant, smk.output.curves)
    matrices = []
    for path in smk.input.tests:
        with open(path, encoding="utf-8") as f:
            matrices.append(json.load(f)["confusion_matrix"])
    plotting.plot_confusion(
        matrices, smk.params.class_names, smk.wildcards.variant, smk.output.confusion
    )


run_logged(snakemake.log, lambda: main(snakemake))  # noqa: F821
