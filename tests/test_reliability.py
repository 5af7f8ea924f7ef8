"""Killed jobs resume, outputs are atomic, bad commands fail cleanly, and nothing
downloaded is ever trusted more than it must be."""

import ast
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from ablation import atomic, npz
from conftest import REPO, SNAKEMAKE, check, project_copy, snakemake, tiny_config

SOURCES = sorted(
    p
    for p in [*REPO.glob("workflow/**/*.py"), *REPO.glob("workflow/**/*.smk"), REPO / "Snakefile"]
    if p.is_file()
)


def test_atomic_path_leaves_nothing_when_the_writer_dies(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("half written")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def resume_config(epochs=3):
    config = tiny_config()
    config["training"]["epochs"] = epochs
    config["variants"] = {"with_bn": config["variants"]["with_bn"]}
    config["comparisons"] = []
    return config


def new_project(path, tiny_study, config):
    project = project_copy(path, config)
    (project / "resources").mkdir()
    shutil.copy2(tiny_study / "resources" / "mnist.npz", project / "resources")
    return project


def wait_for_checkpoint(job, checkpoints):
    """Until the running training ``job`` has written its first epoch's checkpoint."""
    deadline = time.monotonic() + 600
    while not list(checkpoints.glob("epoch-*.json")):
        assert job.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint after 10 minutes"
        time.sleep(0.2)


@pytest.mark.workflow
def test_killed_training_resumes_and_ends_bit_identical(tiny_study, tmp_path):
    run = Path("results/with_bn/seed1")
    reference = new_project(tmp_path / "reference", tiny_study, resume_config())
    check(snakemake(reference, "variant_with_bn"))
    expected = json.loads((reference / run / "training.json").read_text())["weights_sha256"]

    project = new_project(tmp_path / "killed", tiny_study, resume_config())
    checkpoints = project / "results" / "checkpoints" / "with_bn" / "seed1"
    job = subprocess.Popen(
        [SNAKEMAKE, "--cores", "2", "variant_with_bn"], cwd=project, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_checkpoint(job, checkpoints)
    os.killpg(job.pid, signal.SIGKILL)  # snakemake and its job, without warning
    job.wait()
    assert not (project / run / "model.keras").exists()

    check(snakemake(project, "--unlock", cores=None))  # as after any crash of snakemake
    check(snakemake(project, "variant_with_bn"))
    facts = json.loads((project / run / "training.json").read_text())
    assert facts["resumed_after_epoch"] >= 1
    assert facts["weights_sha256"] == expected
    log = (project / "results" / "logs" / "train" / "with_bn" / "seed1.log").read_text()
    assert "resuming from" in log
    assert not (project / "results" / "checkpoints").exists()


@pytest.mark.workflow
def test_target_naming_an_unknown_variant_fails_and_touches_nothing(study_copy):
    before = {p: p.stat().st_mtime_ns for p in (study_copy / "results").rglob("*")}
    result = snakemake(study_copy, "variant_nope")
    assert result.returncode != 0
    assert "No rule to produce variant_nope" in result.stdout + result.stderr
    assert {p: p.stat().st_mtime_ns for p in (study_copy / "results").rglob("*")} == before


def calls(name):
    """Every call of a function or method called ``name`` in the workflow's code."""
    found = []
    for path in SOURCES:
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called == name:
                    found.append((path.relative_to(REPO), node))
    return found


def keyword(node, name):
    for kw in node.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


def test_models_are_loaded_in_safe_mode():
    loads = calls("load_model")
    assert loads, "no load_model call found: the check would prove nothing"
    assert all(keyword(node, "safe_mode") is True for _, node in loads)


def test_arrays_are_never_loaded_with_pickle_allowed():
    loads = calls("load")
    np_loads = [(p, n) for p, n in loads if keyword(n, "allow_pickle") is not None]
    assert np_loads and all(keyword(n, "allow_pickle") is False for _, n in np_loads)
    assert all("allow_pickle=True" not in p.read_text() for p in SOURCES)


def test_nothing_is_unpickled_but_through_the_whitelist():
    text = {p: p.read_text() for p in SOURCES}
    assert not [p for p, t in text.items() if "pickle.load(" in t or "pickle.loads(" in t]
    assert not [p for p, t in text.items() if "yaml.load(" in t or "unsafe_load" in t]
    (unpicklers,) = [p for p, t in text.items() if "pickle.Unpickler" in t]
    assert unpicklers.name == "unpickler.py"


@pytest.mark.workflow
def produced(project):
    return {p: p.stat().st_mtime_ns for p in (project / "results").rglob("*") if p.is_file()}


def swap_dataset(project, change):
    """Rewrite resources/mnist.npz as this workflow writes it, with ``change`` applied."""
    path = project / "resources" / "mnist.npz"
    arrays = {k: v.copy() for k, v in npz.read_npz(path, "test").items()}
    change(arrays)
    npz.write_npz(path, **arrays)


@pytest.mark.workflow
@pytest.mark.parametrize(
    "change",
    [
        lambda a: a.update(x_train=255 - a["x_train"]),  # the same images, inverted
        lambda a: np.random.default_rng(0).shuffle(a["y_train"]),  # labels shuffled
        None,  # truncated
    ],
    ids=["inverted", "shuffled labels", "truncated"],
)
def test_a_swapped_or_damaged_dataset_stops_the_run_before_any_job(study_copy, change):
    data = study_copy / "resources" / "mnist.npz"
    if change is None:
        data.write_bytes(data.read_bytes()[:50_000])
    else:
        swap_dataset(study_copy, change)
    before = produced(study_copy)
    result = snakemake(study_copy, "report.md")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "error: resources/mnist.npz: SHA-256 " in output and "was replaced or changed" in output
    assert "Traceback" not in output
    assert produced(study_copy) == before  # nothing built is lost


RETRAINED = Path("results/with_bn/seed1")


def assert_consistent(project):
    """Nothing left to do, and every number comes from the files that exist."""
    assert "Nothing to be done" in check(snakemake(project, "-n", "report.md")).stdout
    facts = json.loads((project / RETRAINED / "training.json").read_text())
    metrics = (project / "results" / "metrics.csv").read_text()
    assert f",{facts['weights_sha256']}\n" in metrics
    model = (project / RETRAINED / "model.keras").stat().st_mtime_ns
    assert (project / RETRAINED / "test_metrics.json").stat().st_mtime_ns > model
    assert (project / "report.md").stat().st_mtime_ns > model


@pytest.mark.workflow
def test_an_interrupted_retrain_is_redone_not_reported_as_finished(study_copy):
    log = study_copy / "results" / "logs" / "train" / "with_bn" / "seed1.log"
    old_log = log.read_text()
    job = subprocess.Popen(
        [SNAKEMAKE, "--cores", "2", "variant_with_bn", "--forcerun", "train"], cwd=study_copy,
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    # The training has started: Snakemake deleted its outputs, the job rewrote its log.
    while not log.exists() or log.read_text() in ("", old_log):
        assert job.poll() is None and time.monotonic() < deadline, "training never started"
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGINT)  # Ctrl-C
    job.wait(timeout=120)
    assert not (study_copy / RETRAINED / "model.keras").exists()
    assert (study_copy / RETRAINED / "test_metrics.json").exists()  # of a model now gone

    for target in ("variant_with_bn", "report.md"):
        plan = check(snakemake(study_copy, "-n", target)).stdout
        assert "Training with_bn with seed 1" in plan, plan
    check(snakemake(study_copy, "report.md"))
    assert_consistent(study_copy)


@pytest.mark.workflow
def test_a_failed_retrain_is_redone_not_reported_as_finished(study_copy):
    # A file where the job's checkpoint folder goes: the training job raises after
    # Snakemake has deleted its old outputs.
    blocker = study_copy / "results" / "checkpoints" / "with_bn" / "seed1"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder")
    failed = snakemake(study_copy, "variant_with_bn", "--forcerun", "train")
    assert failed.returncode != 0
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "The run stopped before report.md was done: train/with_bn/seed1 failed: "
    )
    assert "FileExistsError" in last or "NotADirectoryError" in last, last
    assert last.endswith("To continue: snakemake --cores 2 variant_with_bn --forcerun train")
    assert not (study_copy / RETRAINED / "model.keras").exists()
    blocker.unlink()
    check(snakemake(study_copy, "report.md"))
    assert_consistent(study_copy)


OFFLINE = {
    **os.environ,
    # Nothing answers here: the URL, the PyPI fallback and any proxy all fail at once.
    "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
    "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_NO_INDEX": "1",
}  # fmt: skip


@pytest.mark.workflow
def test_offline_a_dataset_copied_into_a_fresh_clone_is_used_not_refetched(tiny_study, tmp_path):
    project = project_copy(tmp_path / "clone", tiny_config())
    (project / "resources").mkdir()
    data = project / "resources" / "mnist.npz"
    shutil.copy(tiny_study / "resources" / "mnist.npz", data)
    os.utime(data, (0, 0))  # older than every file of the clone
    result = check(snakemake(project, "report.md", env=OFFLINE))
    assert "Downloading" not in result.stdout + result.stderr
    assert data.stat().st_mtime == 0 and (project / "report.md").is_file()


@pytest.mark.workflow
def test_offline_a_fresh_clone_reads_the_dataset_from_local_path(tiny_study, tmp_path):
    copy = tmp_path / "downloads" / "mnist.npz"
    copy.parent.mkdir()
    shutil.copy(tiny_study / "resources" / "mnist.npz", copy)
    config = tiny_config()
    config["data"]["local_path"] = str(copy)
    project = project_copy(tmp_path / "clone", config)
    check(snakemake(project, "report.md", env=OFFLINE))
    log = (project / "results" / "logs" / "download.log").read_text()
    assert f"wrote resources/mnist.npz from data.local_path {copy}" in log


@pytest.mark.workflow
def test_offline_without_the_dataset_fails_in_one_line_naming_the_sources(tmp_path):
    project = project_copy(tmp_path / "clone", tiny_config())
    result = snakemake(project, "report.md", env=OFFLINE)
    assert result.returncode != 0
    assert "error: no data source could be reached" in result.stdout + result.stderr


def test_a_full_disk_is_one_line_and_the_job_says_it_did_not_finish(tmp_path, capsys):
    import errno

    from ablation.joblog import run_logged

    class Logs(list):  # as snakemake.log: the log first, the status by name
        status = str(tmp_path / "job.status")

    logs = Logs([str(tmp_path / "job.log"), Logs.status])

    def work():
        raise OSError(errno.ENOSPC, "No space left on device", "results/x.npz")

    with pytest.raises(SystemExit) as exit_:
        run_logged(logs, work)
    assert exit_.value.code == 1
    # The console gets one line (here pytest also catches what goes to the log).
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: no space left on the disk writing results/x.npz; free some and run again"
    )
    assert (tmp_path / "job.status").read_text() == "running\n"


@pytest.mark.workflow
def test_a_retrain_killed_before_it_wrote_its_status_is_redone(study_copy):
    # Killed in the instant after Snakemake deleted the job's outputs and logs.
    for name in ("model.keras", "history.csv", "layers.json", "training.json"):
        (study_copy / RETRAINED / name).unlink()
    for suffix in (".log", ".status"):
        (study_copy / f"results/logs/train/with_bn/seed1{suffix}").unlink()
    plan = check(snakemake(study_copy, "-n", "report.md")).stdout
    assert "Training with_bn with seed 1" in plan, plan
    check(snakemake(study_copy, "report.md"))
    assert_consistent(study_copy)


def reference_weights(tiny_study, path, config):
    """The weights an uninterrupted run of ``config`` trains (with_bn, seed 1)."""
    reference = new_project(path, tiny_study, config)
    check(snakemake(reference, "variant_with_bn"))
    return json.loads((reference / RUN / "training.json").read_text())["weights_sha256"]


RUN = Path("results/with_bn/seed1")


@pytest.mark.workflow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_snakemake_alone_stops_the_training_and_the_rerun_resumes_it(
    signum, tiny_study, tmp_path
):
    """As a service manager, a nohup wrapper or a batch system stops a run: the
    signal reaches Snakemake's process only (here in the tests' process group,
    which it does not lead), not its jobs."""
    run = RUN
    config = resume_config(epochs=8)
    expected = reference_weights(tiny_study, tmp_path / "reference", config)

    project = new_project(tmp_path / "stopped", tiny_study, config)
    checkpoints = project / "results" / "checkpoints" / "with_bn" / "seed1"
    job = subprocess.Popen(
        [SNAKEMAKE, "--cores", "2", "variant_with_bn"], cwd=project, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert os.getpgid(job.pid) != job.pid
    wait_for_checkpoint(job, checkpoints)
    job.send_signal(signum)
    output, _ = job.communicate(timeout=120)
    assert job.returncode != 0, output
    # Stopped at once: not trained to the end, its finished epochs kept.
    assert not (project / run / "model.keras").exists(), output
    assert list(checkpoints.glob("epoch-*.keras"))
    assert "stopped by an interrupt; run again to resume" in output
    # The last line on the screen: what stopped, what is kept, how to continue.
    assert output.strip().splitlines()[-1] == (
        "The run stopped before report.md was done: interrupted (train/with_bn/seed1). "
        "Kept: every finished job's files, and the unfinished trainings' last epochs. "
        "To continue: snakemake --cores 2 variant_with_bn"
    )

    check(snakemake(project, "variant_with_bn"))  # no --unlock needed
    facts = json.loads((project / run / "training.json").read_text())
    assert facts["resumed_after_epoch"] >= 1
    assert facts["weights_sha256"] == expected


@pytest.mark.workflow
def test_kill_9_of_snakemake_stops_its_training_and_the_rerun_loses_at_most_an_epoch(
    tiny_study, tmp_path
):
    """`kill -9` of Snakemake's process alone: nothing tells its jobs. The training
    notices Snakemake is gone and stops, keeping its checkpoints (it used to train
    on unseen to its end and delete them, and the rerun trained from epoch 0); after
    --unlock the rerun resumes from the last finished epoch, to the same weights."""
    import psutil

    run = RUN
    config = resume_config(epochs=6)
    # Epochs of a few seconds: the run must outlast a second run's start-up.
    config["split"]["train_limit"] = 3000
    expected = reference_weights(tiny_study, tmp_path / "reference", config)

    project = new_project(tmp_path / "killed", tiny_study, config)
    checkpoints = project / "results" / "checkpoints" / "with_bn" / "seed1"
    job = subprocess.Popen(
        [SNAKEMAKE, "--cores", "2", "variant_with_bn"], cwd=project,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_checkpoint(job, checkpoints)
    # A second run in the same folder meanwhile is refused: the first is alive.
    second = snakemake(project, "variant_with_bn")
    assert second.returncode != 0
    assert (
        f"another Snakemake run (pid {job.pid}) is running this study in {project}: wait for "
        "it to end, or stop it with Ctrl-C in its terminal (do not --unlock while it runs)"
    ) in second.stderr
    jobs = psutil.Process(job.pid).children(recursive=True)
    job.send_signal(signal.SIGKILL)  # Snakemake alone: its jobs are orphaned
    job.wait()
    reached = max(int(p.stem.split("-")[1]) for p in checkpoints.glob("epoch-*.json"))
    gone, alive = psutil.wait_procs(jobs, timeout=60)
    assert not alive, f"the orphaned training still runs: {alive}"
    assert list(checkpoints.glob("epoch-*.keras")), "its checkpoints were removed"
    log = (project / "results" / "logs" / "train" / "with_bn" / "seed1.log").read_text()
    assert "Snakemake's process is gone: stopping, the checkpoints kept" in log

    # Its lock is left: now, with no run alive, the line says to unlock.
    locked = snakemake(project, "variant_with_bn")
    assert locked.returncode != 0
    assert (
        f"a run of this study stopped without releasing its lock (no Snakemake runs in "
        f"{project} now): snakemake --unlock, then snakemake --cores 2 variant_with_bn"
    ) in locked.stderr
    check(snakemake(project, "--unlock", cores=None))
    check(snakemake(project, "variant_with_bn"))
    facts = json.loads((project / run / "training.json").read_text())
    assert facts["resumed_after_epoch"] >= reached
    assert facts["weights_sha256"] == expected
    assert not (project / "results" / "checkpoints").exists()  # removed once evaluated
