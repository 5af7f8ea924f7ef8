"""Rule split: train / validation / test arrays, as Keras's validation_split."""

import logging

from ablation import splits
from ablation.dataset_checks import DatasetSpec, load_dataset
from ablation.joblog import run_logged


def main(smk):
    # The dataset's checks as params, not the registry: a registry entry is no input.
    spec = DatasetSpec.from_checks(smk.params.dataset)
    arrays = load_dataset(smk.input.data, spec, tuple(smk.params.also_known))
    cfg = smk.params.split
    parts = splits.split(arrays, cfg["validation_fraction"], cfg["train_limit"], cfg["test_limit"])
    for name, (x, y) in parts.items():
        splits.write_split(smk.output[name], x, y)
        logging.info("%s: %d images -> %s", name, len(x), smk.output[name])


run_logged(snakemake.log, lambda: main(snakemake), code=snakemake.input.code)  # noqa: F821
