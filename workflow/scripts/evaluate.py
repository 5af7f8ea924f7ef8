"""Rule evaluate: test loss, accuracy, per-class accuracy, confusion matrix."""

import logging

from ablation import atomic, devices, evaluation, splits
from ablation.joblog import run_logged


def main(smk):
    devices.configure_tensorflow(smk.params.numerics)
    x, y = splits.read_split(smk.input.test, smk.params.num_classes)
    # From the config, not params: the batch changes memory, not the scores.
    batch = smk.config["execution"]["eval_batch_size"]
    scores = evaluation.evaluate(smk.input.model, x, y, batch, smk.params.num_classes)
    atomic.write_json(smk.output[0], scores)
    logging.info("test loss %.4f, accuracy %.4f", scores["test_loss"], scores["test_accuracy"])
    # The training's last checkpoint was kept until Snakemake accepted its outputs
    # (a training that ended while Snakemake was gone is resumed at no cost).
    atomic.remove_folder(smk.params.checkpoint_dir)


run_logged(snakemake.log, lambda: main(snakemake), code=snakemake.input.code)  # noqa: F821
