"""The tiny study submitted through profiles/slurm to a real single-node SLURM
(select/cons_tres, two fake GPUs).

Skipped where SLURM's binaries are absent (a laptop); .ci/run installs them, so in
CI this runs, and a missing binary there is a failure, not a skip.
"""

import json
import re
import shutil
import subprocess
import time
from datetime import datetime

import pytest
import yaml

from conftest import REPO, SNAKEMAKE, check, project_copy, snakemake, tiny_config
from slurm_cluster import started_cluster

pytestmark = pytest.mark.workflow

SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+)/")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    yield from started_cluster(tmp_path_factory.mktemp("slurm"), select="cons_tres", gpus=2)


def shipped_profile() -> dict:
    return yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())


def site_profile(dest, profile=None):
    """profiles/slurm as a site would adapt it to this one small node: two trainings
    fit side by side (one CPU each, the study's threads), status from squeue (no accounting database).
    """
    profile = profile or shipped_profile()
    profile["set-resources"]["train"]["mem_mb"] = 1500
    profile["default-resources"]["mem_mb"] = 1000
    profile.update(
        {
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


def with_data(project, tiny_study):
    (project / "resources").mkdir()
    shutil.copy2(tiny_study / "resources" / "mnist.npz", project / "resources")
    return project


def submitted(result) -> dict[str, list[str]]:
    by_rule = {}
    for job_id, rule in SUBMITTED.findall(result.stdout + result.stderr):
        by_rule.setdefault(rule, []).append(job_id)
    return by_rule


def when(field: str) -> datetime:
    return datetime.fromisoformat(field)


def test_shipped_profile_assumes_no_partition_and_asks_a_gpu_per_training():
    profile = shipped_profile()
    assert profile["executor"] == "slurm"
    for resources in (profile["default-resources"], *profile["set-resources"].values()):
        assert "slurm_partition" not in resources and "slurm_account" not in resources
    assert profile["set-resources"]["train"]["gpu"] == 1
    # profiles/default is applied beside it (Snakemake's workflow profile): it must
    # not limit the gpu resource, or trainings would queue one after another.
    default = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    assert "gpu" not in default.get("resources", {})


def test_tiny_study_runs_as_slurm_jobs_two_trainings_at_once_each_with_a_gpu(
    cluster, tiny_study, tmp_path
):
    project = with_data(project_copy(tmp_path / "project", tiny_config()), tiny_study)
    profile = site_profile(tmp_path / "profile")

    # The README's cluster command, as is (the workflow profile included).
    result = check(
        snakemake(project, "--profile", str(profile), "report.md", env=cluster.env, cores=None)
    )
    by_rule = submitted(result)
    # Every job that ran went through sbatch. (The dataset is already here; the
    # download, when it runs, is a local rule: compute nodes often lack internet.)
    assert {rule: len(ids) for rule, ids in by_rule.items()} == {
        "split": 1, "train": 2, "evaluate": 2, "plot_variant_curves": 2,
        "plot_variant_seeds": 2, "plot_variant_confusion": 2, "plot_curves": 1, "metrics": 1,
        "verdicts": 1, "plot_differences": 1, "plot_test_accuracy": 1, "report": 1,
    }  # fmt: skip
    assert "17 of 17 steps (100%) done" in result.stdout + result.stderr
    for rule, ids in by_rule.items():
        for job_id in ids:
            job = cluster.job(job_id)
            assert job["JobState"] == "COMPLETED", (rule, job)
            # No partition asked for: the cluster's default one.
            assert job["Partition"] == "cpu", job
            gpus = job.get("TresPerJob", "")
            if rule == "train":
                assert re.search(r"gres[:/]gpu:1", gpus), job
            else:
                assert "gpu" not in gpus, job
    first, second = (cluster.job(i) for i in by_rule["train"])
    assert when(first["StartTime"]) < when(second["EndTime"]), (first, second)
    assert when(second["StartTime"]) < when(first["EndTime"]), "the trainings overlap"
    assert "## Results" in (project / "report.md").read_text()
    # The weights a laptop trains: the study's thread count, not the job's CPUs.
    for variant in ("baseline", "with_bn"):
        on_slurm, here = (
            json.loads((p / "results" / variant / "seed1" / "training.json").read_text())
            for p in (project, tiny_study)
        )
        assert on_slurm["weights_sha256"] == here["weights_sha256"], variant


def test_a_training_cancelled_with_scancel_ends_the_run_and_a_rerun_finishes_it(
    cluster, tiny_study, tmp_path
):
    config = tiny_config()
    config["training"]["epochs"] = 8  # long enough to be cancelled while it runs
    project = with_data(project_copy(tmp_path / "project", config), tiny_study)
    profile = site_profile(tmp_path / "profile")
    model = project / "results" / "baseline" / "seed1" / "model.keras"
    status = project / "results" / "logs" / "train" / "baseline" / "seed1.status"
    command = [SNAKEMAKE, "--profile", str(profile), str(model.relative_to(project))]

    run = subprocess.Popen(
        command, cwd=project, env=cluster.env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        cancelled = None
        while cancelled is None and time.monotonic() < deadline and run.poll() is None:
            queue = subprocess.run(
                ["squeue", "-h", "-o", "%i|%T|%k"], env=cluster.env, text=True,
                capture_output=True, check=True,
            ).stdout  # fmt: skip
            for job_id, state, comment in (line.split("|", 2) for line in queue.splitlines()):
                if "rule_train" in comment and state == "RUNNING" and status.exists():
                    subprocess.run(["scancel", job_id], env=cluster.env, check=True)
                    cancelled = job_id
            time.sleep(0.5)
        assert cancelled, "no training was seen running"
        output, _ = run.communicate(timeout=180)
    finally:
        run.kill()
    assert run.returncode != 0, output
    assert f"SLURM-job '{cancelled}' failed" in output and "CANCELLED" in output, output
    assert not model.exists() and status.read_text() == "running\n"

    result = check(
        subprocess.run(command, cwd=project, env=cluster.env, text=True, capture_output=True)
    )
    assert model.exists() and status.read_text() == "done\n", result.stdout
