DATASET_FILE = f"resources/{DATASET}.npz"

# A dataset already in place is a source file, not a product: nothing can rerun its
# download (a code change, a copy older than the clone's scripts, a new mirror), which
# would delete it first and, offline, fail. Delete the file to fetch it again.
if not os.path.exists(DATASET_FILE):

    localrules:
        download,

    # The job's params are the data's identity (name and hashes), not where it is
    # fetched from; the script reads the sources from the config.
    rule download:
        output:
            DATASET_FILE,
        log:
            **job_log("download"),
        conda:
            "../../envs/analysis.yaml"
        params:
            identity={
                key: value
                for key, value in config["data"].items()
                if key in ("name", "sha256", "idx_sha256")
            },
        message:
            "Downloading {DATASET} (verified by SHA-256)"
        script:
            "../scripts/download.py"


rule split:
    input:
        data=DATASET_FILE,
        lib=library("datasets"),
    output:
        train="results/data/train.npz",
        validation="results/data/validation.npz",
        test="results/data/test.npz",
    log:
        **job_log("split"),
    conda:
        "../../envs/analysis.yaml"
    params:
        dataset=DATASET,
        split=config["split"],
    message:
        "Splitting {DATASET} into train / validation / test"
    script:
        "../scripts/split.py"
