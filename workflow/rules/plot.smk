rule plot_variant:
    input:
        histories=lambda wc: run_files("history.csv", [wc.variant]),
        upstream_logs=lambda wc: run_logs(rules.train, [wc.variant]),
        lib=library("plotting"),
    output:
        report(
            "results/{variant}/curves.png",
            caption="../report/curves.rst",
            category="Training curves",
            subcategory="{variant}",
            labels={"variant": "{variant}", "figure": "loss and accuracy"},
        ),
    log:
        "results/logs/plot/{variant}.log",
    conda:
        "../../envs/analysis.yaml"
    message:
        "Plotting the training curves of {wildcards.variant}"
    script:
        "../scripts/plot_variant.py"


rule plot_comparison:
    input:
        histories=run_files("history.csv"),
        upstream_logs=run_logs(rules.train),
        lib=library("plotting"),
    output:
        report(
            "results/comparison/{metric}.png",
            caption="../report/comparison.rst",
            category="Comparison",
            labels={"metric": "{metric}"},
        ),
    log:
        "results/logs/plot/comparison_{metric}.log",
    wildcard_constraints:
        metric="|".join(COMPARISON_METRICS),
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=runs(),
    message:
        "Plotting {wildcards.metric} across variants"
    script:
        "../scripts/plot_comparison.py"


rule plot_differences:
    input:
        verdicts=rules.verdicts.output[0],
        upstream_logs=rules.verdicts.log,
        lib=library("plotting", "statistics", "verdicts"),
    output:
        report(
            "results/comparison/differences.png",
            caption="../report/differences.rst",
            category="Comparison",
            labels={"figure": "paired differences"},
        ),
    log:
        "results/logs/plot/differences.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        metrics=VERDICT_METRICS,
    message:
        "Plotting the paired differences behind the verdicts"
    script:
        "../scripts/plot_differences.py"
