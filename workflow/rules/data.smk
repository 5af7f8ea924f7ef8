DATASET_FILE = f"resources/{DATASET}.npz"
# A copy put in place by hand may also be the user's own local file (the registry
# knows the others).
DATASET_ALSO_KNOWN = [h for h in [STUDY.local_sha256] if h]

# A dataset already in place is a source file, not a product: nothing can rerun its
# download (a code change, a copy older than the clone's scripts, a new mirror), which
# would delete it first and, offline, fail. Delete the file to fetch it again. It is
# verified here, before any job, and again by the split that reads it.
if os.path.exists(DATASET_FILE):
    try:
        dataset_checks.verify_file(DATASET_FILE, DATASET_SPEC, DATASET_ALSO_KNOWN)
    except DataError as exc:
        raise Refusal(f"error: {exc}") from None
else:

    localrules:
        download,

    # The job's params are the dataset's name (the registry holds its hashes), not
    # where it is fetched from; the script reads the overrides from the config.
    rule download:
        output:
            DATASET_FILE,
            str(dataset_checks.recorded_hash_path(DATASET_FILE)),
        log:
            **job_log("download"),
        conda:
            "../../envs/analysis.yaml"
        params:
            dataset=DATASET,
        message:
            "Downloading {DATASET} (verified by SHA-256)"
        script:
            "../scripts/download.py"


rule split:
    input:
        data=DATASET_FILE,
        code=code("split"),
    output:
        train=f"{RESULTS}/data/train.npz",
        validation=f"{RESULTS}/data/validation.npz",
        test=f"{RESULTS}/data/test.npz",
    log:
        **job_log("split"),
    conda:
        "../../envs/analysis.yaml"
    params:
        dataset=DATASET_SPEC.checks(),
        also_known=DATASET_ALSO_KNOWN,
        split=STUDY.split,
    message:
        "Splitting {DATASET} into train / validation / test"
    script:
        "../scripts/split.py"
