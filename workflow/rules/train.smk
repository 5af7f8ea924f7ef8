rule train:
    input:
        train=rules.split.output.train,
        validation=rules.split.output.validation,
        finished=rules.split.log.status,
        code=code("train"),
    output:
        model=f"{RUN}/model.keras",
        history=report(
            f"{RUN}/history.csv",
            caption="../report/history.rst",
            category="Training",
            subcategory="{variant}",
            labels={"variant": "{variant}", "seed": "{seed}", "file": "history"},
        ),
        layers=f"{RUN}/layers.json",
        facts=f"{RUN}/training.json",
    log:
        **job_log("train/{variant}/seed{seed}"),
    benchmark:
        TRAIN_BENCHMARK
    conda:
        "../../envs/tensorflow.yaml"
    threads: TF_THREADS
    # What a training needs wherever it runs (a cluster asks for it; locally only
    # gpu counts, against --resources gpu=N): ten epochs of one variant take
    # minutes on a GPU and up to an hour on one CPU core.
    resources:
        gpu=1,
        runtime=120,
        mem_mb=8000,
    params:
        arch=lambda wc: STUDY.job_architecture(wc.variant),
        num_classes=DATASET_SPEC.num_classes,
        training=lambda wc: STUDY.trainings[wc.variant],
        numerics=STUDY.numerics,
        # Per-epoch checkpoints for resuming a killed job; not an output.
        checkpoint_dir=lambda wc: CHECKPOINTS.format(**wc),
        # Used when config `execution: tensorboard` is on (it changes no result).
        tensorboard_dir=lambda wc: f"{RESULTS}/tensorboard/{wc.variant}/seed{wc.seed}",
    message:
        "Training {wildcards.variant} with seed {wildcards.seed}"
    script:
        "../scripts/train.py"
