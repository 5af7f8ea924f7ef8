# Every figure of ablation/figures.py is a rule, plot_<key>: its inputs are the
# files it reads, its output a report() entry with the registry's caption.

# The study settings a figure may name (Figure.settings): changing one redraws the
# figures that name it.
FIGURE_SETTINGS = {
    "variants": VARIANTS,
    "metrics": VERDICT_METRICS,
    "class_names": list(DATASET_SPEC.class_names),
    "accuracy_as": STUDY.plots["accuracy_as"],
}


def figure_inputs(figure, wildcards):
    """The files a figure reads, and the status files of the jobs that wrote them."""
    variants = [wildcards.variant] if figure.per_variant else None
    inputs = {"finished": []}
    if "histories" in figure.reads or "tests" in figure.reads:
        inputs["looks"] = look_files()
    if "histories" in figure.reads:
        inputs["histories"] = run_files("history.csv", variants)
        inputs["finished"] += finished(rules.train, variants)
    if "tests" in figure.reads:
        inputs["tests"] = run_files("test_metrics.json", variants)
        inputs["finished"] += finished(rules.evaluate, variants)
    for table in ("metrics", "verdicts"):
        if table in figure.reads:
            inputs[table] = getattr(rules, table).output[0]
            inputs["finished"].append(getattr(rules, table).log.status)
    return inputs


def figure_runs(figure, wildcards):
    """The runs whose histories or tests the figure reads, in their inputs' order."""
    if not {"histories", "tests"} & set(figure.reads):
        return []
    return runs([wildcards.variant] if figure.per_variant else None)


def figure_text(text, variant=None):
    """A figure's alt text or caption as known before any result (figures.render):
    the seeds of a sequential study, and whether the original's numbers are shown,
    are not."""
    alpha = STUDY.statistics["alpha"]
    return render_figure_text(
        text,
        variant=variant,
        level=f"{100 * (1 - alpha):g}%",
        eq_level=f"{100 * (1 - 2 * alpha):g}%",
        seeds=None if SEQUENTIAL else len(SEEDS),
        original=None,
        accuracy_as=STUDY.plots["accuracy_as"],
    )


for _key, _figure in FIGURES.items():

    rule:
        name:
            f"plot_{_key}"
        input:
            unpack(lambda wc, figure=_figure: figure_inputs(figure, wc)),
            code=code(f"plot_{_key}"),
        output:
            report(
                figure_path(_figure),
                caption="../report/figure.rst",
                category=_figure.category,
                subcategory="{variant}" if _figure.per_variant else None,
                labels={
                    **({"variant": "{variant}"} if _figure.per_variant else {}),
                    "figure": _figure.name.replace("_", " "),
                },
            ),
        log:
            **job_log(f"plot/{figure_folder(_figure)}/{_figure.name}"),
        conda:
            "../../envs/analysis.yaml"
        params:
            figure=_key,
            runs=lambda wc, figure=_figure: figure_runs(figure, wc),
            settings={name: FIGURE_SETTINGS[name] for name in _figure.settings},
            # For snakemake --report's caption (workflow/report/figure.rst).
            caption=lambda wc, figure=_figure: figure_text(figure.caption, wc.get("variant")),
        message:
            f"Plotting {figure_text(_figure.alt, '{wildcards.variant}')}"
        script:
            "../scripts/plot.py"
