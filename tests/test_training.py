"""Training: determinism, resumption, and the input pipeline."""

import numpy as np
import pytest

from ablation import config, dataset_checks, datasets, devices, models, pipeline, splits, training
from conftest import REPO

ARCH = {
    "conv_filters": [8, 16],
    "kernel_size": 3,
    "pool_size": 2,
    "batch_norm": True,  # BatchNorm's moving statistics must be reproducible too
    "activation": "relu",
    "dense_units": [16],
    "output_activation": "softmax",
    "loss_on": "logits",
}
MNIST_SHAPE = (datasets.MNIST.image_shape, datasets.MNIST.num_classes)
# The default study's settings, but 2 threads.
DEFAULT_STUDY = config.read_config(REPO / "config.yaml")
NUMERICS = {**DEFAULT_STUDY["numerics"], "threads": 2}
EXECUTION = DEFAULT_STUDY["execution"]
TRAINING = {
    "epochs": 3,
    "batch_size": 32,
    "optimizer": "adam",
    "learning_rate": 0.001,
    "loss": "sparse_categorical_crossentropy",
}


@pytest.fixture(scope="module")
def small_split(mnist_npz):
    parts = splits.split(
        dataset_checks.load_dataset(mnist_npz, datasets.MNIST), 0.1, train_limit=500
    )
    return parts["train"], parts["validation"]


@pytest.fixture(scope="module", autouse=True)
def tensorflow_threads():
    devices.configure_tensorflow(NUMERICS)


def run(small_split, tmp_path, seed=1, settings=TRAINING, arch=ARCH, **kwargs):
    # train() seeds itself: nothing is seeded here.
    return training.train(
        arch=arch, training=settings, seed=seed, train_xy=small_split[0],
        validation_xy=small_split[1], checkpoint_dir=tmp_path / "ckpt", verbose=0,
        num_classes=datasets.MNIST.num_classes, **{"numerics": NUMERICS, "execution": EXECUTION, **kwargs},
    )  # fmt: skip


def test_same_seed_gives_bit_identical_weights(small_split, tmp_path):
    first = run(small_split, tmp_path / "a")
    second = run(small_split, tmp_path / "b")
    assert first["facts"]["weights_sha256"] == second["facts"]["weights_sha256"]
    assert [h["loss"] for h in first["history"]] == [h["loss"] for h in second["history"]]


def test_steps_per_execution_changes_speed_not_what_is_learnt(small_split, tmp_path):
    # 15 steps an epoch: groups of 4 would cross epoch boundaries, so 3 are used.
    one = run(small_split, tmp_path / "a", execution={**EXECUTION, "steps_per_execution": 1})
    grouped = run(small_split, tmp_path / "b", execution={**EXECUTION, "steps_per_execution": 4})
    assert one["facts"]["steps_per_epoch"] == 15 and grouped["facts"]["steps_per_execution"] == 3
    assert one["facts"]["weights_sha256"] == grouped["facts"]["weights_sha256"]
    assert [h["val_loss"] for h in one["history"]] == [h["val_loss"] for h in grouped["history"]]


def test_evaluation_batch_size_changes_memory_not_what_is_learnt(small_split, tmp_path):
    # 50 validation images: batches of 7 leave a short last batch.
    default = run(small_split, tmp_path / "a")
    small = run(small_split, tmp_path / "b", execution={**EXECUTION, "eval_batch_size": 7})
    assert default["facts"]["weights_sha256"] == small["facts"]["weights_sha256"]
    for a, b in zip(default["history"], small["history"], strict=True):
        assert a["val_accuracy"] == b["val_accuracy"]
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)


def test_steps_per_execution_is_the_largest_divisor_of_the_epoch():
    assert training.steps_per_execution(1688, 8) == 8
    assert training.steps_per_execution(1688, 16) == 8
    assert training.steps_per_execution(15, 4) == 3
    assert training.steps_per_execution(17, 8) == 1
    assert training.steps_per_execution(4, 100) == 4


def test_another_seed_gives_other_weights(small_split, tmp_path):
    assert (
        run(small_split, tmp_path / "a", seed=1)["facts"]["weights_sha256"]
        != run(small_split, tmp_path / "b", seed=2)["facts"]["weights_sha256"]
    )


# Dropout draws random masks every step: a resumed run must draw the ones an
# uninterrupted run would have drawn after the epochs it skips.
DROPOUT = {**ARCH, "conv_dropout": 0.25, "dense_dropout": 0.5}


@pytest.mark.parametrize("arch", [ARCH, DROPOUT], ids=["plain", "dropout"])
def test_resumed_run_ends_where_an_uninterrupted_one_does(small_split, tmp_path, monkeypatch, arch):
    uninterrupted = run(small_split, tmp_path / "whole", arch=arch)
    assert (
        uninterrupted["facts"]["weights_sha256"]
        == run(small_split, tmp_path / "again", arch=arch)["facts"]["weights_sha256"]
    )

    # Die right after epoch 2's checkpoint is written.
    real_save = training.save_checkpoint

    def save_then_die(directory, model, history, fp):
        real_save(directory, model, history, fp)
        if history[-1]["epoch"] == 2:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(training, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run(small_split, tmp_path / "killed", arch=arch)
    monkeypatch.setattr(training, "save_checkpoint", real_save)

    resumed = run(small_split, tmp_path / "killed", arch=arch)
    assert resumed["facts"]["resumed_after_epoch"] == 2
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
    assert resumed["facts"]["weights_sha256"] == uninterrupted["facts"]["weights_sha256"]


def test_checkpoint_of_another_job_is_not_resumed(small_split, tmp_path):
    run(small_split, tmp_path)  # leaves a checkpoint of epoch 3 behind
    other = dict(TRAINING, learning_rate=0.01)
    result = training.train(
        arch=ARCH, training=other, seed=1, train_xy=small_split[0],
        validation_xy=small_split[1], checkpoint_dir=tmp_path / "ckpt", verbose=0,
        num_classes=datasets.MNIST.num_classes, numerics=NUMERICS, execution=EXECUTION,
    )  # fmt: skip
    assert result["facts"]["resumed_after_epoch"] == 0


def test_each_epoch_sees_every_image_once_in_a_seeded_order():
    x = np.arange(70, dtype=np.uint8).reshape(70, 1, 1)
    y = np.arange(70, dtype=np.uint8)

    def epochs(first):
        batches = pipeline.training_batches(x, y, 32, seed=5, first_epoch=first, epochs=3)
        labels = np.concatenate([b[1].numpy() for b in batches])
        return labels.reshape(-1, 70)

    full = epochs(0)
    assert all(sorted(e) == list(range(70)) for e in full)
    assert not np.array_equal(full[0], full[1])  # reshuffled each epoch
    assert np.array_equal(epochs(1), full[1:])  # epoch order does not depend on the start
    # Images are scaled to [0, 1] in the graph, with a channel axis.
    images, _ = next(iter(pipeline.training_batches(x, y, 32, 5, 0, 1)))
    assert images.shape == (32, 1, 1, 1) and float(images.numpy().max()) <= 69 / 255 + 1e-7


def test_layer_table_of_a_small_model():
    table = models.layer_table(models.build_model(ARCH, *MNIST_SHAPE))
    assert table["non_trainable_params"] == 2 * (8 + 16)  # BatchNorm moving mean and variance


def test_probability_loss_is_the_tf23_formula_on_the_outputs(small_split, tmp_path):
    # tf.keras <= 2.3 on a non-softmax output: -log(clip(p_y) / sum_j clip(p_j)).
    import keras

    x, y = small_split[1][0][:16], small_split[1][1][:16]
    images = x[..., None].astype("float32") / 255
    arch = dict(ARCH, output_activation="sigmoid", loss_on="probabilities")
    model = models.build_model(arch, *MNIST_SHAPE)
    models.compile_model(model, TRAINING, arch["loss_on"])
    p = np.clip(model.predict(images, verbose=0).astype(np.float64), 1e-7, 1 - 1e-7)
    expected = np.mean(-np.log(p[np.arange(len(y)), y] / p.sum(axis=1)))
    assert model.evaluate(images, y, verbose=0, return_dict=True)["loss"] == pytest.approx(
        expected, rel=1e-5
    )
    # Keras's own loss on the same model takes the stored logits instead: another number.
    models.compile_model(model, TRAINING, "logits")
    assert model.evaluate(images, y, verbose=0, return_dict=True)["loss"] != pytest.approx(
        expected, rel=1e-3
    )
    # A saved model keeps its loss: resumed training and evaluation load it.
    models.compile_model(model, TRAINING, "probabilities")
    model.save(tmp_path / "m.keras")
    loaded = models.read_model(tmp_path / "m.keras")
    assert loaded.evaluate(images, y, verbose=0, return_dict=True)["loss"] == pytest.approx(
        expected, rel=1e-5
    )
    assert isinstance(loaded, keras.Model)


def test_a_sigmoid_output_learns_another_model_only_with_the_probability_loss(
    small_split, tmp_path
):
    one_epoch = dict(TRAINING, epochs=1)
    sigmoid = dict(ARCH, output_activation="sigmoid")

    def weights(arch, name):
        return run(small_split, tmp_path / name, settings=one_epoch, arch=arch)["facts"][
            "weights_sha256"
        ]

    softmax = weights(ARCH, "softmax")
    # Keras 3 takes the logits stored under the sigmoid: the softmax model, bit for bit.
    assert weights(dict(sigmoid, loss_on="logits"), "on_logits") == softmax
    assert weights(dict(sigmoid, loss_on="probabilities"), "on_probabilities") != softmax


def test_a_checkpoint_made_under_other_execution_settings_is_resumed(small_split, tmp_path):
    run(small_split, tmp_path)  # leaves a checkpoint of epoch 3 behind
    again = run(small_split, tmp_path, execution={**EXECUTION, "eval_batch_size": 7})
    assert again["facts"]["resumed_after_epoch"] == 3


def test_progress_line_reads_like_keras_with_the_time_left():
    history = [{"epoch": 1, "seconds": 30.0}, {"epoch": 2, "seconds": 32.0}]
    row = {
        "epoch": 2,
        "loss": 0.0412,
        "accuracy": 0.98712,
        "val_loss": 0.039,
        "val_accuracy": 0.9883,
        "seconds": 32.0,
    }
    assert training.progress_line("with_bn seed 1", row, 10, history) == (
        "with_bn seed 1: epoch 2/10  loss 0.0412  accuracy 0.9871  val_loss 0.0390  "
        "val_accuracy 0.9883  32 s (about 4 min 8 s left)"
    )


def test_the_history_grows_epoch_by_epoch_beside_the_checkpoint(small_split, tmp_path, monkeypatch):
    seen = []
    real_save = training.save_checkpoint

    def save_and_look(directory, model, history, fp):
        real_save(directory, model, history, fp)
        seen.append(len((directory / "history.csv").read_text().splitlines()) - 1)

    monkeypatch.setattr(training, "save_checkpoint", save_and_look)
    lines = []
    run(small_split, tmp_path, progress=lines.append, label="x seed 1")
    assert seen == [1, 2, 3]
    assert [line.split(":")[1].split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
