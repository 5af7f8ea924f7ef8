rule evaluate:
    input:
        model=rules.train.output.model,
        test=rules.split.output.test,
        lib=library("datasets", "models", "training", "evaluation"),
    output:
        report(
            f"{RUN}/test_metrics.json",
            caption="../report/test_metrics.rst",
            category="Test set",
            subcategory="{variant}",
            labels={"variant": "{variant}", "seed": "{seed}", "file": "test metrics"},
        ),
    log:
        "results/logs/evaluate/{variant}/seed{seed}.log",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 2
    params:
        eval_batch_size=config["training"]["eval_batch_size"],
    message:
        "Evaluating {wildcards.variant} seed {wildcards.seed} on the test set"
    script:
        "../scripts/evaluate.py"


rule metrics:
    input:
        histories=run_files("history.csv"),
        facts=run_files("training.json"),
        tests=run_files("test_metrics.json"),
        lib=library("reporting"),
    output:
        report(
            "results/metrics.csv",
            caption="../report/metrics.rst",
            category="Results",
            labels={"file": "metrics table"},
        ),
    log:
        "results/logs/metrics.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=runs(),
    message:
        "Collecting every run's numbers into results/metrics.csv"
    script:
        "../scripts/metrics.py"
