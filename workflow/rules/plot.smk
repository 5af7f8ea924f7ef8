rule plot_variant:
    message:
        "Plotting the training curves of {wildcards.variant}"
    input:
        histories=lambda wc: run_files("history.csv", [wc.variant]),
        lib=library("datasets", "models", "plotting"),
    output:
        "results/{variant}/curves.png",
    log:
        "results/logs/plot/{variant}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/plot_variant.py"


rule plot_comparison:
    message:
        "Plotting {wildcards.metric} across variants"
    input:
        histories=run_files("history.csv"),
        lib=library("datasets", "models", "plotting"),
    output:
        "results/comparison/{metric}.png",
    params:
        runs=runs(),
    log:
        "results/logs/plot/comparison_{metric}.log",
    wildcard_constraints:
        metric="|".join(COMPARISON_METRICS),
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/plot_comparison.py"
