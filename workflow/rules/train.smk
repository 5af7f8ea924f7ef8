rule train:
    message:
        "Training {wildcards.variant} with seed {wildcards.seed}"
    input:
        train=rules.split.output.train,
        validation=rules.split.output.validation,
        lib=library("datasets", "models", "training"),
    output:
        model=f"{RUN}/model.keras",
        history=f"{RUN}/history.csv",
        layers=f"{RUN}/layers.json",
        facts=f"{RUN}/training.json",
    params:
        arch=lambda wc: arch(wc.variant),
        training=config["training"],
        # Per-epoch checkpoints for resuming a killed job; not an output.
        checkpoint_dir=lambda wc: f"results/checkpoints/{wc.variant}/seed{wc.seed}",
    log:
        "results/logs/train/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{variant}/seed{seed}.tsv"
    threads: 4
    resources:
        gpu=1,
    conda:
        "../../envs/tensorflow.yaml"
    script:
        "../scripts/train.py"
