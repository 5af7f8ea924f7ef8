"""Rule plot_<figure>: one figure of ablation/figures.py, from the files it reads."""

import json

import pandas as pd

from ablation import figures, metrics_table
from ablation.joblog import input_paths, run_logged


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main(smk):
    figure = figures.FIGURES[smk.params.figure]
    runs = smk.params.runs  # the runs of its histories and tests, in order

    def by_variant(values):
        out = {}
        for run, value in zip(runs, values, strict=True):
            out.setdefault(run["variant"], []).append(value)
        return out

    def read_runs(name, read):
        return by_variant(map(read, input_paths(smk.input[name]))) if name in figure.reads else {}

    data = figures.FigureData(
        seeds=by_variant(run["seed"] for run in runs),
        histories=read_runs("histories", pd.read_csv),
        tests=read_runs("tests", read_json),
        metrics=(
            metrics_table.read_metrics(smk.input.metrics) if "metrics" in figure.reads else None
        ),
        verdicts=read_json(smk.input.verdicts) if "verdicts" in figure.reads else None,
        settings=smk.params.settings,
    )
    figure.draw(data, smk.output[0], smk.wildcards.get("variant"))


run_logged(snakemake.log, lambda: main(snakemake), code=snakemake.input.code)  # noqa: F821
