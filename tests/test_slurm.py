"""The tiny study submitted through profiles/slurm to a real single-node SLURM.

Skipped where SLURM's binaries are absent (a laptop); .ci/run installs them, so in
CI this runs, and a missing binary there is a failure, not a skip.
"""

import os
import re
import shutil

import pytest
import yaml

from conftest import REPO, check, project_copy, snakemake, tiny_config
from slurm_cluster import SlurmCluster, missing_binaries

pytestmark = pytest.mark.workflow

SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+)/")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    missing = missing_binaries()
    if missing:
        reason = (
            f"SLURM is not installed (missing {', '.join(missing)}); "
            "apt-get install slurmctld slurmd slurm-client munge"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def site_profile(dest, cluster):
    """profiles/slurm as a site would adapt it to this one small node."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    train = profile["set-resources"]["train"]
    # The shipped profile's choices that this test checks stay as they are.
    assert profile["executor"] == "slurm" and train["gpu"] == 1
    assert train["slurm_partition"] == "gpu" and profile["default-resources"]["slurm_partition"] == "cpu"
    train.update(cpus_per_gpu=cluster.cpus, mem_mb=3000)
    profile["set-threads"]["train"] = cluster.cpus
    profile["default-resources"]["mem_mb"] = 1500
    profile.update(
        {
            # No slurmdbd here: sacct cannot answer, squeue can (MinJobAge is long).
            "slurm-status-command": "squeue",
            "slurm-no-account": True,
            "slurm-init-seconds-before-status-checks": 1,
            "slurm-keep-successful-logs": True,
            "latency-wait": 5,
            "retries": 0,
        }
    )
    dest.mkdir(parents=True)
    (dest / "config.yaml").write_text(yaml.safe_dump(profile))
    return dest


def test_tiny_study_runs_as_slurm_jobs_and_training_gets_a_gpu(cluster, tiny_study, tmp_path):
    project = project_copy(tmp_path / "project", tiny_config())
    (project / "resources").mkdir()
    shutil.copy2(tiny_study / "resources" / "mnist.npz", project / "resources")
    profile = site_profile(tmp_path / "profile", cluster)

    result = check(
        snakemake(project, "--profile", str(profile), "report.md", env=cluster.env, cores=None)
    )
    jobs = SUBMITTED.findall(result.stdout + result.stderr)
    by_rule = {}
    for job_id, rule in jobs:
        by_rule.setdefault(rule, []).append(job_id)
    # Every job that ran went through sbatch. (The dataset is already here; the
    # download, when it runs, is a local rule: compute nodes often lack internet.)
    assert {rule: len(ids) for rule, ids in by_rule.items()} == {
        "split": 1, "train": 2, "evaluate": 2, "plot_variant": 2,
        "plot_comparison": 4, "metrics": 1, "verdicts": 1, "plot_differences": 1,
        "plot_results": 1, "report": 1,
    }  # fmt: skip
    assert "16 of 16 steps (100%) done" in result.stdout + result.stderr
    for rule, ids in by_rule.items():
        for job_id in ids:
            job = cluster.job(job_id)
            assert job["JobState"] == "COMPLETED", (rule, job)
            gpus = job.get("TresPerJob", "")
            if rule == "train":
                assert job["Partition"] == "gpu" and re.search(r"gres[:/]gpu:1", gpus), job
            else:
                assert job["Partition"] == "cpu" and "gpu" not in gpus, job
    assert "## Results" in (project / "report.md").read_text()
