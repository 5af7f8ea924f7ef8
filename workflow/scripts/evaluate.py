"""Rule evaluate: test loss, accuracy, per-class accuracy, confusion matrix."""

import logging

from ablation import atomic, datasets, evaluation
from ablation.joblog import run_logged


def main(smk):
    x, y = datasets.read_split(smk.input.test)
    scores = evaluation.evaluate(smk.input.model, x, y, smk.params.eval_batch_size)
    atomic.write_json(smk.output[0], scores)
    logging.info("test loss %.4f, accuracy %.4f", scores["test_loss"], scores["test_accuracy"])


run_logged(snakemake.log, lambda: main(snakemake))  # noqa: F821
