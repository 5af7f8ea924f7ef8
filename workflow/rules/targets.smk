# Targets besides report.md: one per variant, and the refusal of the default
# study's paths asked of a named study.


# A named study writes studies/NAME/: the default study's report.md or results/...
# asked for instead is refused with this study's command (Snakemake's own words,
# "No rule to produce report.md", would not say where the report is).
if STUDY_DIR:

    rule default_study_path:
        input:
            lambda wc: refuse_default_study_path(wc.path),
        output:
            "{path}",
        wildcard_constraints:
            path=r"report\.md|results/.*",


# One target per variant, to build or rerun a single variant without the others:
#   snakemake --cores 4 variant_baseline
for _variant in VARIANTS:

    rule:
        name:
            f"variant_{_variant}"
        input:
            lambda wc, variant=_variant: run_files("test_metrics.json", [variant]),
            [figure_path(f, _variant) for f in FIGURES.values() if f.per_variant],
