"""Rule report: render report.md from the results with Jinja2."""

import json
import os
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
        name: {"arch": arch, "curves": curves, "confusion": confusion}
        for (name, arch), curves, confusion in zip(
            smk.params.variants.items(), smk.input.curves, smk.input.confusion, strict=True
        )
    }
    with open(smk.input.reference, encoding="utf-8") as f:
        reference = yaml.safe_load(f)
    with open(smk.input.verdicts, encoding="utf-8") as f:
        verdicts = json.load(f)
    context = reporting.build_context(
        report_path=smk.output.markdown,
        metrics=reporting.read_metrics(smk.input.metrics),
        judged=verdicts,
        variants=variants,
        runs=runs,
        figures={
            "curves": smk.input.comparison,
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
    markdown = reporting.render(smk.input.template, context)
    atomic.write_text(smk.output.markdown, markdown)
    # For snakemake --report: report.md as one page, and a front page of results.
    title = f"CNN ablation on {smk.params.settings['dataset_title']}"
    page = reporting.html_page(markdown, os.path.dirname(smk.output.markdown) or ".", title)
    atomic.write_text(smk.output.html_page, page)
    # docutils refuses lines over 10,000 characters; it joins a split URI again.
    uri = reporting.data_uri(smk.input.test_accuracy)
    context["headline_uri"] = "\n   ".join(uri[i : i + 76] for i in range(0, len(uri), 76))
    atomic.write_text(smk.output.front_page, reporting.render(smk.input.front_page, context))


run_logged(snakemake.log, lambda: main(snakemake))  # noqa: F821
