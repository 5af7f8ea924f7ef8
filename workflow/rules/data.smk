localrules:
    download,


rule download:
    input:
        library("datasets"),
    output:
        f"resources/{DATASET}.npz",
    log:
        "results/logs/download.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        data=config["data"],
    message:
        "Downloading {DATASET} (verified by SHA-256)"
    script:
        "../scripts/download.py"


rule split:
    input:
        data=rules.download.output[0],
        upstream_logs=rules.download.log,
        lib=library("datasets"),
    output:
        train="results/data/train.npz",
        validation="results/data/validation.npz",
        test="results/data/test.npz",
    log:
        "results/logs/split.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        dataset=DATASET,
        split=config["split"],
    message:
        "Splitting {DATASET} into train / validation / test"
    script:
        "../scripts/split.py"
