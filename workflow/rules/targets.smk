# Targets besides report.md: one per variant; the default study's paths asked of
# a named study are refused (common.smk).


refuse_default_study_paths()


# One target per variant, to build or rerun a single variant without the others:
#   snakemake --cores 4 variant_baseline
for _variant in VARIANTS:

    rule:
        name:
            f"variant_{_variant}"
        input:
            lambda wc, variant=_variant: run_files("test_metrics.json", [variant]),
            [figure_path(f, _variant) for f in FIGURES.values() if f.per_variant],
