"""Rule train: one variant, one seed."""

import logging
import os

from ablation import datasets, training
from ablation.joblog import run_logged


def main(smk):
    # Never more TensorFlow threads than this process may run on.
    threads = max(1, min(smk.threads, len(os.sched_getaffinity(0))))
    seed = int(smk.wildcards.seed)
    training.configure_tensorflow(threads, seed)
    logging.info("variant %s, seed %d, %d threads", smk.wildcards.variant, seed, threads)
    result = training.train(
        arch=smk.params.arch,
        training=smk.params.training,
        seed=seed,
        train_xy=datasets.read_split(smk.input.train),
        validation_xy=datasets.read_split(smk.input.validation),
        checkpoint_dir=smk.params.checkpoint_dir,
    )
    training.write_outputs(
        result,
        model_path=smk.output.model,
        history_path=smk.output.history,
        layers_path=smk.output.layers,
        facts_path=smk.output.facts,
    )
    training.remove_checkpoints(smk.params.checkpoint_dir)


run_logged(snakemake.log, lambda: main(snakemake))  # noqa: F821
