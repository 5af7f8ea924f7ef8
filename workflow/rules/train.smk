rule train:
    input:
        train=rules.split.output.train,
        validation=rules.split.output.validation,
        finished=rules.split.log.status,
        lib=library("datasets", "devices", "metrics", "models", "pipeline", "training"),
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
    threads: train_threads()
    resources:
        gpu=1,
    params:
        arch=lambda wc: arch(wc.variant),
        num_classes=DATASET_SPEC.num_classes,
        training=config["training"],
        # Per-epoch checkpoints for resuming a killed job; not an output.
        checkpoint_dir=lambda wc: f"{RESULTS}/checkpoints/{wc.variant}/seed{wc.seed}",
    message:
        "Training {wildcards.variant} with seed {wildcards.seed}"
    script:
        "../scripts/train.py"
