"""A second dataset by config: the tiny study on Fashion-MNIST, and its IDX reader.

The Fashion-MNIST files come from Keras's URL or, where that cannot be reached,
from Debian's dataset-fashion-mnist package, which .ci/run installs; without it
the workflow test skips (and fails in CI).
"""

import dataclasses
import gzip
import logging.handlers
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pooch
import pytest
import yaml

from ablation import dataset_checks, datasets, sources
from ablation.datasets import DataError
from conftest import REPO, check, snakemake

FASHION = yaml.safe_load((REPO / "config" / "fashion_mnist.yaml").read_text())["data"]
DEBIAN = datasets.FASHION_MNIST.sources[-1]


def idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def test_idx_reader_round_trips():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(sources.read_idx(idx(images), "x"), images)


def test_idx_reader_names_a_truncated_file():
    with pytest.raises(
        DataError, match=r"images\.idx: IDX header says \[2, 3, 4\], size disagrees"
    ):
        sources.read_idx(idx(np.zeros((2, 3, 4)))[:-1], "images.idx")


def test_fallback_folder_with_a_wrong_file_is_refused(tmp_path):
    for key, name in sources.IDX_FILES.items():
        (tmp_path / name).write_bytes(
            gzip.compress(idx(np.zeros((3, 28, 28) if key[0] == "x" else (3,))))
        )
    folder = dataclasses.replace(DEBIAN, location=str(tmp_path))
    with pytest.raises(
        DataError, match=r"train-images-idx3-ubyte\.gz \(decompressed\): SHA-256 mismatch"
    ):
        folder.fetch()


def need_debian_copy():
    if not Path(DEBIAN.location).is_dir():
        reason = "Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist"
        pytest.fail(reason) if os.environ.get("CI") else pytest.skip(reason)


def test_idx_files_over_http_are_fetched_and_verified(http_folder):
    need_debian_copy()
    folder, url = http_folder
    for name in sources.IDX_FILES.values():
        shutil.copy(Path(DEBIAN.location) / name, folder / name)
    log = logging.handlers.BufferingHandler(capacity=100)
    pooch.get_logger().addHandler(log)
    try:
        arrays = dataclasses.replace(datasets.FASHION_MNIST.sources[0], location=url).fetch()
    finally:
        pooch.get_logger().removeHandler(log)
    dataset_checks.verify_arrays(arrays, datasets.FASHION_MNIST, url)
    # The download log names each file, without pooch's advice to pin a hash that
    # is checked after decompression anyway.
    lines = [record.getMessage() for record in log.buffer]
    assert sum("Downloading data from" in line for line in lines) == 4
    assert not [line for line in lines if "known_hash" in line]


def snapshot(project):
    files = [p for d in ("results", "resources") for p in (project / d).rglob("*") if p.is_file()]
    files.append(project / "report.md")
    return {str(p.relative_to(project)): p.stat().st_mtime_ns for p in files}


@pytest.mark.workflow
def test_fashion_mnist_study_runs_beside_the_mnist_one(study_copy):
    need_debian_copy()
    mnist = snapshot(study_copy)
    # The README's command: the study named, its file config/fashion_mnist.yaml read
    # over the (tiny) config.yaml.
    check(
        snakemake(study_copy, "studies/fashion_mnist/report.md", "--config", "study=fashion_mnist")
    )

    study = study_copy / "studies" / "fashion_mnist"
    arrays = dataset_checks.load_dataset(
        study_copy / "resources" / "fashion_mnist.npz", datasets.FASHION_MNIST
    )
    assert arrays["x_train"].shape == (60000, 28, 28)
    report = (study / "report.md").read_text()
    assert report.startswith("# CNN ablation on Fashion-MNIST")
    assert "## Results on Fashion-MNIST" in report
    # The original's numbers are MNIST's: none stand beside these, and the top says why.
    assert "dataset: fashion_mnist here, mnist in the original" in report
    assert "original" not in report.lower().split("## how the verdicts")[0].split("## results")[1]
    assert "The original report:" not in report
    assert "(within this study only: its set-up differs from the original's)" in report
    # Its links point into its own folder, and resolve from there.
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report):
        assert link.startswith("results/") and (study / link).is_file()
    log = (study / "results" / "logs" / "download.log").read_text()
    assert "wrote resources/fashion_mnist.npz from" in log

    # The MNIST study is untouched, and still complete.
    assert {p: t for p, t in snapshot(study_copy).items() if p in mnist} == mnist
    assert "Nothing to be done" in check(snakemake(study_copy, "-n", "report.md")).stdout

    table = subprocess.run(
        [sys.executable, "workflow/scripts/compare_studies.py"],
        cwd=study_copy, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = [line for line in table.splitlines() if line.startswith("| ") and "study" not in line]
    assert len(rows) == 4, table
    assert sum("| (default)" in r and "| mnist " in r for r in rows) == 2
    assert sum("| fashion_mnist | fashion_mnist |" in r for r in rows) == 2
    assert (study_copy / "studies.md").read_text().count("fashion_mnist |") >= 2
