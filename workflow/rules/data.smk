rule download:
    message:
        "Downloading {DATASET} (verified by SHA-256)"
    input:
        library("datasets", "models"),
    output:
        f"resources/{DATASET}.npz",
    params:
        data=config["data"],
    log:
        "results/logs/download.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/download.py"


rule split:
    message:
        "Splitting {DATASET} into train / validation / test"
    input:
        data=rules.download.output[0],
        lib=library("datasets", "models"),
    output:
        train="results/data/train.npz",
        validation="results/data/validation.npz",
        test="results/data/test.npz",
    params:
        dataset=DATASET,
        split=config["split"],
    log:
        "results/logs/split.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/split.py"
