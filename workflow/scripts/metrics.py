"""Rule metrics: one row per variant and seed, results/metrics.csv."""

from ablation import metrics_table
from ablation.joblog import run_logged


def main(smk):
    runs = smk.params.runs
    rows = [
        metrics_table.metrics_row(
            smk.params.dataset, run["variant"], run["seed"], history, facts, test, layers
        )
        for run, history, facts, test, layers in zip(
            runs,
            smk.input.histories,
            smk.input.facts,
            smk.input.tests,
            smk.input.layers,
            strict=True,
        )
    ]
    metrics_table.write_metrics(smk.output[0], rows)


run_logged(snakemake.log, lambda: main(snakemake), code=snakemake.input.code)  # noqa: F821
