"""Rule train: one variant, one seed."""

import logging

from ablation import devices, joblog, splits, training
from ablation.joblog import run_logged


def main(smk):
    # Before TensorFlow starts: with several cards, each training takes its own.
    devices.claim_card()
    threads = devices.configure_tensorflow(smk.params.numerics)
    seed = int(smk.wildcards.seed)
    logging.info("variant %s, seed %d, %d threads", smk.wildcards.variant, seed, threads)
    result = training.train(
        arch=smk.params.arch,
        training=smk.params.training,
        seed=seed,
        train_xy=splits.read_split(smk.input.train, smk.params.num_classes),
        validation_xy=splits.read_split(smk.input.validation, smk.params.num_classes),
        num_classes=smk.params.num_classes,
        checkpoint_dir=smk.params.checkpoint_dir,
        numerics=smk.params.numerics,
        # Read from the config, not params: it changes speed, not results.
        execution=smk.config["execution"],
        progress=joblog.say,  # one line per epoch on the console
        label=f"{smk.wildcards.variant} seed {seed}",
        tensorboard_dir=(
            smk.params.tensorboard_dir if smk.config["execution"]["tensorboard"] else None
        ),
    )
    training.write_outputs(
        result,
        model_path=smk.output.model,
        history_path=smk.output.history,
        layers_path=smk.output.layers,
        facts_path=smk.output.facts,
    )


run_logged(snakemake.log, lambda: main(snakemake), code=snakemake.input.code)  # noqa: F821
