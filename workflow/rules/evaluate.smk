rule evaluate:
    message:
        "Evaluating {wildcards.variant} seed {wildcards.seed} on the test set"
    input:
        model=rules.train.output.model,
        test=rules.split.output.test,
        lib=library("datasets", "models", "training", "evaluation"),
    output:
        f"{RUN}/test_metrics.json",
    params:
        eval_batch_size=config["training"]["eval_batch_size"],
    log:
        "results/logs/evaluate/{variant}/seed{seed}.log",
    threads: 2
    conda:
        "../../envs/tensorflow.yaml"
    script:
        "../scripts/evaluate.py"


rule metrics:
    message:
        "Collecting every run's numbers into results/metrics.csv"
    input:
        histories=run_files("history.csv"),
        facts=run_files("training.json"),
        tests=run_files("test_metrics.json"),
        lib=library("datasets", "models", "reporting"),
    output:
        "results/metrics.csv",
    params:
        runs=runs(),
    log:
        "results/logs/metrics.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/metrics.py"
