rule plot_variant:
    input:
        histories=lambda wc: run_files("history.csv", [wc.variant]),
        tests=lambda wc: run_files("test_metrics.json", [wc.variant]),
        finished=lambda wc: finished(rules.train, [wc.variant])
        + finished(rules.evaluate, [wc.variant]),
        code=code("plot_variant.py"),
    output:
        curves=report(
            f"{RESULTS}/{{variant}}/curves.png",
            caption="../report/curves.rst",
            category="Training curves",
            subcategory="{variant}",
            labels={"variant": "{variant}", "figure": "loss and accuracy"},
        ),
        confusion=report(
            f"{RESULTS}/{{variant}}/confusion.png",
            caption="../report/confusion.rst",
            category="Test set",
            subcategory="{variant}",
            labels={"variant": "{variant}", "figure": "confusion matrix"},
        ),
    log:
        **job_log("plot/{variant}"),
    conda:
        "../../envs/analysis.yaml"
    params:
        class_names=list(DATASET_SPEC.class_names),
    message:
        "Plotting the training curves and confusion matrix of {wildcards.variant}"
    script:
        "../scripts/plot_variant.py"


rule plot_comparison:
    input:
        looks=looks,
        histories=lambda wc: run_files("history.csv"),
        finished=lambda wc: finished(rules.train),
        code=code("plot_comparison.py"),
    output:
        report(
            f"{RESULTS}/comparison/curves.png",
            caption="../report/comparison.rst",
            category="Comparison",
            labels={"figure": "curves by variant"},
        ),
    log:
        **job_log("plot/comparison"),
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=lambda wc: runs(),
        accuracy_as=config["plots"]["accuracy_as"],
    message:
        "Plotting the curves of every variant"
    script:
        "../scripts/plot_comparison.py"


rule plot_differences:
    input:
        verdicts=rules.verdicts.output[0],
        finished=rules.verdicts.log.status,
        code=code("plot_differences.py"),
    output:
        report(
            f"{RESULTS}/comparison/differences.png",
            caption="../report/differences.rst",
            category="Comparison",
            labels={"figure": "paired differences"},
        ),
    log:
        **job_log("plot/differences"),
    conda:
        "../../envs/analysis.yaml"
    params:
        metrics=VERDICT_METRICS,
    message:
        "Plotting the paired differences behind the verdicts"
    script:
        "../scripts/plot_differences.py"


rule plot_results:
    input:
        metrics=rules.metrics.output[0],
        verdicts=rules.verdicts.output[0],
        finished=[rules.metrics.log.status, rules.verdicts.log.status],
        code=code("plot_results.py"),
    output:
        report(
            f"{RESULTS}/comparison/test_accuracy.png",
            caption="../report/test_accuracy.rst",
            category="Results",
            labels={"figure": "test accuracy"},
        ),
    log:
        **job_log("plot/test_accuracy"),
    conda:
        "../../envs/analysis.yaml"
    params:
        variants=VARIANTS,
    message:
        "Plotting test accuracy per variant"
    script:
        "../scripts/plot_results.py"
