"""Rule download: fetch the dataset from the first reachable source, verified."""

import logging

from ablation import datasets
from ablation.joblog import run_logged


def main(smk):
    data = smk.config["data"]
    origin = datasets.download(smk.output[0], data, datasets.dataset_spec(data["name"]))
    logging.info("wrote %s from %s", smk.output[0], origin)


run_logged(snakemake.log, lambda: main(snakemake))  # noqa: F821
