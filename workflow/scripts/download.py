"""Rule download: fetch the dataset from the first reachable source, verified."""

import logging

from ablation import datasets, sources
from ablation.joblog import run_logged


def main(smk):
    # Sources from the config, not params: where the data comes from is not what it is.
    data = smk.config["data"]
    origin = sources.download(
        smk.output[0],
        datasets.dataset_spec(smk.params.dataset),
        local_path=data["local_path"],
        local_sha256=data["local_sha256"],
        mirror=data["mirror"],
    )
    logging.info("wrote %s from %s", smk.output[0], origin)


run_logged(snakemake.log, lambda: main(snakemake))  # noqa: F821
