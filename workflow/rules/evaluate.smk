rule evaluate:
    input:
        model=rules.train.output.model,
        test=rules.split.output.test,
        finished=[rules.train.log.status, rules.split.log.status],
        code=code("evaluate"),
    output:
        report(
            f"{RUN}/test_metrics.json",
            caption="../report/test_metrics.rst",
            category="Test set",
            subcategory="{variant}",
            labels={"variant": "{variant}", "seed": "{seed}", "file": "test metrics"},
        ),
    log:
        **job_log("evaluate/{variant}/seed{seed}"),
    conda:
        "../../envs/tensorflow.yaml"
    threads: TF_THREADS
    resources:
        runtime=15,
    params:
        num_classes=DATASET_SPEC.num_classes,
        numerics=STUDY.numerics,
        # The training's checkpoints, removed once its outputs are evaluated.
        checkpoint_dir=lambda wc: CHECKPOINTS.format(**wc),
    message:
        "Evaluating {wildcards.variant} seed {wildcards.seed} on the test set"
    script:
        "../scripts/evaluate.py"


rule metrics:
    input:
        # Functions: in a sequential study, the runs grow with the looks taken.
        looks=look_files,
        histories=lambda wc: run_files("history.csv"),
        facts=lambda wc: run_files("training.json"),
        tests=lambda wc: run_files("test_metrics.json"),
        layers=lambda wc: run_files("layers.json"),
        finished=lambda wc: finished(rules.train) + finished(rules.evaluate),
        code=code("metrics"),
    output:
        report(
            f"{RESULTS}/metrics.csv",
            caption="../report/metrics.rst",
            category="Results",
            labels={"file": "metrics table"},
        ),
    log:
        **job_log("metrics"),
    conda:
        "../../envs/analysis.yaml"
    params:
        dataset=DATASET,
        runs=lambda wc: runs(),
    message:
        "Collecting every run's numbers into {output}"
    script:
        "../scripts/metrics.py"


rule verdicts:
    input:
        metrics=rules.metrics.output[0],
        finished=rules.metrics.log.status,
        reference=WORKFLOW_DIR / "reference" / "original_report.yaml",
        design=[DESIGN_FILE] if SEQUENTIAL else [],
        looks=look_files,
        code=code("verdicts"),
    output:
        f"{RESULTS}/verdicts.json",
    log:
        **job_log("verdicts"),
    conda:
        "../../envs/analysis.yaml"
    params:
        # Each comparison, with the training settings its two sides differ in.
        comparisons=[
            {**c, "training_differences": STUDY.training_differences(c["variant"], c["against"])}
            for c in COMPARISONS
        ],
        statistics=STUDY.statistics,
        study={
            "dataset": DATASET,
            "epochs": STUDY.epochs,
            "batch_size": STUDY.training["batch_size"],
            **{f"{part}_images": n for part, n in STUDY.images.items()},
        },
    message:
        "Judging every comparison and the original's claims from the seeds"
    script:
        "../scripts/verdicts.py"
