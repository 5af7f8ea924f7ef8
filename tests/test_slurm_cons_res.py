"""profiles/slurm's commented `gres` alternative, on a SLURM whose SelectType is
select/cons_res (no --gpus), as older clusters still run."""

import re

import pytest
import yaml

from conftest import REPO, check, project_copy, snakemake, tiny_config
from slurm_cluster import started_cluster
from test_slurm import site_profile, submitted, with_data

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    yield from started_cluster(tmp_path_factory.mktemp("slurm"), select="cons_res", gpus=2)


def gres_profile() -> dict:
    """The shipped profile with its train block edited as its comment says: the
    line `gpu` replaced by the commented two."""
    text = (REPO / "profiles" / "slurm" / "config.yaml").read_text()
    lines = []
    for line in text.splitlines():
        if re.fullmatch(r"    gpu: 1", line):
            continue
        lines.append(re.sub(r"^    # (gpu: 0|gres: .*)$", r"    \1", line))
    profile = yaml.safe_load("\n".join(lines))
    train = profile["set-resources"]["train"]
    assert train["gpu"] == 0 and train["gres"] == "gpu:1"
    return profile


def test_gres_alternative_trains_on_cons_res_where_the_default_is_refused(
    cluster, tiny_study, tmp_path
):
    project = with_data(project_copy(tmp_path / "project", tiny_config()), tiny_study)
    models = [f"results/{v}/seed1/model.keras" for v in ("baseline", "with_bn")]

    refused = snakemake(
        project, "--profile", str(site_profile(tmp_path / "default")), *models,
        env=cluster.env, cores=None,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "Requested GRES option unsupported" in refused.stdout + refused.stderr

    profile = site_profile(tmp_path / "gres", gres_profile())
    result = check(
        snakemake(project, "--profile", str(profile), *models, env=cluster.env, cores=None)
    )
    trains = submitted(result)["train"]
    assert len(trains) == 2
    for job_id in trains:
        job = cluster.job(job_id)
        assert job["JobState"] == "COMPLETED", job
        assert re.search(
            r"gres[:/]gpu:1", job.get("TresPerNode", "") + job.get("TresPerJob", "")
        ), job
    assert all((project / m).exists() for m in models)
