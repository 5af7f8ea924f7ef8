"""Rule verdicts: every comparison and claim judged, results/verdicts.json."""

import json
from pathlib import Path

import yaml

from ablation import atomic, judging, metrics_table
from ablation.joblog import input_paths, run_logged


def main(smk):
    with open(smk.input.reference, encoding="utf-8") as f:
        reference = yaml.safe_load(f)
    metrics = metrics_table.read_metrics(smk.input.metrics)
    sequence = None
    design = input_paths(smk.input.design)
    if design:  # a sequential study: its design and the looks taken
        read = lambda path: json.loads(Path(path).read_text(encoding="utf-8"))  # noqa: E731
        sequence = {
            "design": read(design[0]),
            "looks": [read(p) for p in input_paths(smk.input.looks)],
        }
    judged = judging.judge(
        metrics,
        smk.params.comparisons,
        reference,
        smk.params.study,
        judging.Settings.from_config(smk.params.statistics),
        sequence,
    )
    atomic.write_json(smk.output[0], judging.json_safe(judged))


run_logged(snakemake.log, lambda: main(snakemake), code=snakemake.input.code)  # noqa: F821
