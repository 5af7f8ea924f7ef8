"""A second dataset by config: the tiny study on Fashion-MNIST, and its IDX reader.

The Fashion-MNIST files come from Keras's URL or, where that cannot be reached,
from Debian's dataset-fashion-mnist package, which .ci/run installs; without it
the workflow test skips (and fails in CI).
"""

import dataclasses
import gzip
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from ablation import datasets
from ablation.datasets import DataError
from conftest import REPO, check, project_copy, snakemake, tiny_config

FASHION = yaml.safe_load((REPO / "config" / "fashion_mnist.yaml").read_text())["data"]
DEBIAN = datasets.FASHION_MNIST.sources[-1]


def idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def test_idx_reader_round_trips():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(datasets.read_idx(idx(images), "x"), images)


def test_idx_reader_names_a_truncated_file():
    with pytest.raises(DataError, match=r"images\.idx: IDX header says \[2, 3, 4\], size disagrees"):
        datasets.read_idx(idx(np.zeros((2, 3, 4)))[:-1], "images.idx")


def test_fallback_folder_with_a_wrong_file_is_refused(tmp_path):
    for key, name in datasets.IDX_FILES.items():
        (tmp_path / name).write_bytes(gzip.compress(idx(np.zeros((3, 28, 28) if key[0] == "x" else (3,)))))
    folder = dataclasses.replace(DEBIAN, location=str(tmp_path))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz \(decompressed\): SHA-256 mismatch"):
        datasets.fetch_idx_arrays(folder)


@pytest.mark.workflow
def test_tiny_study_on_fashion_mnist(tmp_path):
    if not Path(DEBIAN.location).is_dir():
        reason = "Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist"
        pytest.fail(reason) if os.environ.get("CI") else pytest.skip(reason)
    config = tiny_config()
    config["data"] = FASHION
    project = project_copy(tmp_path / "project", config)
    check(snakemake(project, "report.md"))

    arrays = datasets.load_dataset(project / "resources" / "fashion_mnist.npz", datasets.FASHION_MNIST)
    assert arrays["x_train"].shape == (60000, 28, 28)
    report = (project / "report.md").read_text()
    assert report.startswith("# CNN ablation on Fashion-MNIST")
    assert "## Results on Fashion-MNIST" in report
    # The original's numbers are MNIST's: none stand beside these, and the top says why.
    assert "dataset: fashion_mnist here, mnist in the original" in report
    assert "original" not in report.lower().split("## how the verdicts")[0].split("## results")[1]
    assert "The original report:" not in report
    assert "(within this study only: its set-up differs from the original's)" in report
    log = (project / "results" / "logs" / "download.log").read_text()
    assert "wrote resources/fashion_mnist.npz from" in log
