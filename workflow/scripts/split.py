"""Rule split: train / validation / test arrays, as Keras's validation_split."""

import logging

from ablation import datasets
from ablation.joblog import run_logged


def main(smk):
    spec = datasets.dataset_spec(smk.params.dataset)
    arrays = datasets.load_dataset(smk.input.data, spec, tuple(smk.params.also_known))
    cfg = smk.params.split
    parts = datasets.split(
        arrays, cfg["validation_fraction"], cfg["train_limit"], cfg["test_limit"]
    )
    for name, (x, y) in parts.items():
        datasets.write_split(smk.output[name], x, y)
        logging.info("%s: %d images -> %s", name, len(x), smk.output[name])


run_logged(snakemake.log, lambda: main(snakemake))  # noqa: F821
