"""Rule report: render report.md from the results with Jinja2."""

import json
import os
from importlib.metadata import version
from pathlib import Path

from ablation import atomic, metrics_table, rendering, report_provenance, reporting
from ablation.joblog import input_paths, run_logged


def main(smk):
    inp = smk.input
    runs = reporting.read_runs(
        smk.params.runs, inp.histories, inp.facts, inp.layers, inp.benchmarks
    )
    figures = [
        dict(figure, path=path)
        for figure, path in zip(smk.params.figures, input_paths(inp.figures), strict=True)
    ]
    context = reporting.build_context(
        report_path=smk.output.markdown,
        metrics=metrics_table.read_metrics(inp.metrics),
        judged=json.loads(Path(inp.verdicts).read_text(encoding="utf-8")),
        variants=smk.params.variants,
        runs=runs,
        figures=figures,
        settings=smk.params.settings,
        margins=smk.params.margins,
        provenance=report_provenance.provenance(
            project_dir=smk.params.project_dir,
            config_sha256=smk.params.config_sha256,
            dataset_path=inp.dataset,
            runs=runs,
            snakemake_version=version("snakemake"),
            design_path=next(iter(input_paths(inp.design)), None),
        ),
    )
    markdown = rendering.render(inp.template, context)
    atomic.write_text(smk.output.markdown, markdown)
    # For snakemake --report: report.md as one page, and a front page of results.
    title = f"CNN ablation on {smk.params.settings['dataset_title']}"
    page = rendering.html_page(markdown, os.path.dirname(smk.output.markdown) or ".", title)
    atomic.write_text(smk.output.html_page, page)
    # docutils refuses lines over 10,000 characters; it joins a split URI again.
    uri = rendering.data_uri(next(f["path"] for f in figures if f["key"] == "test_accuracy"))
    context["headline_uri"] = "\n   ".join(uri[i : i + 76] for i in range(0, len(uri), 76))
    atomic.write_text(smk.output.front_page, rendering.render(inp.front_page, context))


run_logged(snakemake.log, lambda: main(snakemake), code=snakemake.input.code)  # noqa: F821
