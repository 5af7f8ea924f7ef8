"""Rule report: render report.md from the results with Jinja2."""

import json
from importlib.metadata import version

import yaml

from ablation import atomic, reporting
from ablation.joblog import run_logged


def main(smk):
    runs = {}
    for run, history, facts, layers, benchmark in zip(
        smk.params.runs,
        smk.input.histories,
        smk.input.facts,
        smk.input.layers,
        smk.input.benchmarks,
        strict=True,
    ):
        runs.setdefault(run["variant"], []).append(
            {
                "seed": run["seed"],
                "history": history,
                "facts": facts,
                "layers": layers,
                "benchmark": benchmark,
            }
        )
    variants = {
        name: {"arch": arch, "curves": curves}
        for (name, arch), curves in zip(smk.params.variants.items(), smk.input.curves, strict=True)
    }
    with open(smk.input.reference, encoding="utf-8") as f:
        reference = yaml.safe_load(f)
    with open(smk.input.verdicts, encoding="utf-8") as f:
        verdicts = json.load(f)
    figures = dict(zip(smk.params.comparison_metrics, smk.input.comparison_plots, strict=True))
    context = reporting.build_context(
        report_path=smk.output[0],
        metrics=reporting.read_metrics(smk.input.metrics),
        judged=verdicts,
        variants=variants,
        runs=runs,
        figures={
            **figures,
            "differences": smk.input.differences,
            "test_accuracy": smk.input.test_accuracy,
        },
        reference=reference,
        settings=smk.params.settings,
        margins=smk.params.margins,
        provenance=reporting.provenance(
            project_dir=smk.params.project_dir,
            config_sha256=smk.params.config_sha256,
            dataset_path=smk.input.dataset,
            runs=runs,
            snakemake_version=version("snakemake"),
        ),
    )
    atomic.write_text(smk.output[0], reporting.render(smk.input.template, context))


run_logged(snakemake.log, lambda: main(snakemake))  # noqa: F821
