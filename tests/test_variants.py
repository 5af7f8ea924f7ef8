"""A variant as its reference plus changes (`base:`), its own training settings, and
the architecture keys beyond the original's: kernel, pooling, dropout, head."""

import copy

import pytest
import yaml

from ablation import config as config_checks
from ablation import datasets, models
from ablation.study import Study
from conftest import REPO

MNIST_SHAPE = (datasets.MNIST.image_shape, datasets.MNIST.num_classes)


def study_of(variants, training=None, **more):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config = copy.deepcopy(config) | {"variants": variants, "comparisons": []} | more
    if training:
        config["training"] = training
    config_checks.resolve_bases(config)
    config_checks.check_schema(config, config_checks.SCHEMA)
    from snakemake.utils import validate

    validate(config, str(config_checks.SCHEMA))
    return Study.from_config(config)


BASE = {"conv_filters": [8, 16], "dense_units": [32]}


def test_a_variant_is_its_base_with_its_own_keys_over_it_along_a_chain():
    study = study_of(
        {
            "base": BASE,
            "bn": {"base": "base", "batch_norm": True, "training": {"learning_rate": 0.01}},
            "bn_dropout": {"base": "bn", "dense_dropout": 0.5, "training": {"epochs": 3}},
        }
    )
    chained = study.variants["bn_dropout"]
    assert chained["conv_filters"] == [8, 16] and chained["batch_norm"] is True
    assert chained["dense_dropout"] == 0.5 and chained["kernel_size"] == 3
    # training: merged key by key along the chain, over the study's.
    assert study.trainings["bn_dropout"] == {**study.training, "learning_rate": 0.01, "epochs": 3}
    assert study.trainings["base"] == study.training
    assert study.changes("bn") == {"batch_norm": True, "training.learning_rate": 0.01}
    assert study.changes("bn_dropout") == {"dense_dropout": 0.5, "training.epochs": 3}
    assert study.training_differences("bn_dropout", "base") == [
        "epochs 3 vs 10", "learning_rate 0.01 vs 0.001",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "variants, message",
    [
        (
            {"a": {**BASE, "base": "nowhere"}},
            "config: variants.a.base: 'nowhere' is not a variant (variants: a)",
        ),
        (
            {"a": {"base": "b"}, "b": {"base": "c"}, "c": {"base": "a"}},
            "config: variants.c.base: 'a' makes a cycle: a -> b -> c -> a",
        ),
        ({"a": {**BASE, "base": "a"}}, "config: variants.a.base: 'a' makes a cycle: a -> a"),
    ],
    ids=["unknown base", "cycle", "itself"],
)
def test_an_unknown_base_or_a_cycle_is_one_line_naming_the_variant(variants, message):
    config = {"variants": variants}
    with pytest.raises(config_checks.ConfigError) as error:
        config_checks.resolve_bases(config)
    assert str(error.value) == message


def test_the_default_study_trains_exactly_what_it_trained_before():
    # The train rule's `arch` params (and the checkpoint fingerprint made from them)
    # of every default variant, as they were before the later keys existed.
    study = Study.from_config(config_checks.read_config(REPO / "config.yaml"))
    before = {
        "kernel_size": 3, "pool_size": 2, "batch_norm": False, "activation": "relu",
        "dense_units": [64, 64], "output_activation": "softmax", "loss_on": "logits",
    }  # fmt: skip
    expected = {
        "baseline": {"conv_filters": [32, 64, 64], **before},
        "with_bn": {"conv_filters": [32, 64, 64], **before, "batch_norm": True},
        "shallower": {"conv_filters": [32, 64], **before},
        "deeper": {"conv_filters": [32, 64, 64, 64], **before},
        "sigmoid_output": {
            "conv_filters": [32, 64, 64], **before, "output_activation": "sigmoid",
            "loss_on": "probabilities",
        },
    }  # fmt: skip
    for name, arch in expected.items():
        job = study.job_architecture(name)
        assert job == arch and list(job) == [k for k in models.ARCHITECTURE_KEYS if k in arch]
    assert all(study.trainings[v] == study.training for v in expected)


def test_the_schema_defaults_build_the_original_model():
    schema = yaml.safe_load(config_checks.SCHEMA.read_text())
    keys = schema["properties"]["variants"]["additionalProperties"]["properties"]
    assert {k: keys[k]["default"] for k in models.ORIGINAL_MODEL} == models.ORIGINAL_MODEL


def keras_model(*blocks):
    """An independent Keras build: the layers as given."""
    import keras

    return keras.Sequential([keras.Input(shape=(28, 28, 1)), *blocks])


def reference_models():
    from keras import layers as L

    conv = lambda f, k=3, a="relu": L.Conv2D(f, k, padding="same", activation=a)  # noqa: E731
    head = lambda: [L.Dense(32, activation="relu"), L.Dense(10, activation="softmax")]  # noqa: E731
    return {
        "kernel_size": (
            {"kernel_size": 5},
            keras_model(conv(8, 5), L.MaxPooling2D(2), conv(16, 5), L.MaxPooling2D(2), L.Flatten(), *head()),
        ),
        "pooling": (
            {"pooling": "average"},
            keras_model(conv(8), L.AveragePooling2D(2), conv(16), L.AveragePooling2D(2), L.Flatten(), *head()),
        ),
        "conv_dropout": (
            {"conv_dropout": 0.25},
            keras_model(conv(8), L.MaxPooling2D(2), L.Dropout(0.25), conv(16), L.MaxPooling2D(2),
                        L.Dropout(0.25), L.Flatten(), *head()),
        ),
        "dense_dropout": (
            {"dense_dropout": 0.5},
            keras_model(conv(8), L.MaxPooling2D(2), conv(16), L.MaxPooling2D(2), L.Flatten(),
                        L.Dense(32, activation="relu"), L.Dropout(0.5), L.Dense(10, activation="softmax")),
        ),
        "head": (
            {"head": "global_average"},
            keras_model(conv(8), L.MaxPooling2D(2), conv(16), L.MaxPooling2D(2),
                        L.GlobalAveragePooling2D(), *head()),
        ),
        "conv_activation": (
            {"conv_activation": "tanh"},
            keras_model(conv(8, a="tanh"), L.MaxPooling2D(2), conv(16, a="tanh"), L.MaxPooling2D(2),
                        L.Flatten(), *head()),
        ),
    }  # fmt: skip


@pytest.mark.parametrize(
    "key", ["kernel_size", "pooling", "conv_dropout", "dense_dropout", "head", "conv_activation"]
)
def test_each_key_builds_what_an_independent_keras_build_does(key):
    change, reference = reference_models()[key]
    study = study_of({"base": BASE, "changed": {"base": "base", **change}})
    built = models.build_model(study.variants["changed"], *MNIST_SHAPE)
    assert built.count_params() == reference.count_params()
    assert [type(layer).__name__ for layer in built.layers] == [
        type(layer).__name__ for layer in reference.layers
    ]
    assert [layer.output.shape for layer in built.layers] == [
        layer.output.shape for layer in reference.layers
    ]
    if key == "conv_activation":
        assert built.layers[0].activation.__name__ == "tanh"
        assert built.layers[-2].activation.__name__ == "relu"  # the dense layers keep theirs


def test_the_global_average_head_holds_the_dense_input_fixed_across_depths():
    depths = {"one": [64], "two": [32, 64], "three": [32, 64, 64], "four": [32, 64, 64, 64]}
    study = study_of(
        {
            n: {"conv_filters": f, "dense_units": [64, 64], "head": "global_average"}
            for n, f in depths.items()
        }
    )
    widths = set()
    for name in depths:
        model = models.build_model(study.variants[name], *MNIST_SHAPE)
        widths.add(
            next(
                layer.output.shape[-1]
                for layer in model.layers
                if type(layer).__name__ == "GlobalAveragePooling2D"
            )
        )
    assert widths == {64}


def test_a_kernel_larger_than_the_map_its_conv_sees_is_refused():
    arch = {**study_of({"v": BASE}).variants["v"], "conv_filters": [8, 8, 8, 8], "kernel_size": 5}
    with pytest.raises(
        models.ArchitectureError,
        match=r"kernel_size: 5 is larger than the 3x3 feature map conv layer 4 of 4",
    ):
        models.feature_map_sizes(arch, datasets.MNIST.image_shape)
