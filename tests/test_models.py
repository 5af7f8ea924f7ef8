"""The four default variants are exactly the original report's models."""

import pytest

from ablation import config, datasets, models
from ablation.study import Study
from conftest import REPO

# Output shapes and parameter counts of the original report's tables (figures 1-4).
ORIGINAL_TABLES = {
    "baseline": (
        [
            ("Conv2D", "(None, 28, 28, 32)", 320),
            ("MaxPooling2D", "(None, 14, 14, 32)", 0),
            ("Conv2D", "(None, 14, 14, 64)", 18496),
            ("MaxPooling2D", "(None, 7, 7, 64)", 0),
            ("Conv2D", "(None, 7, 7, 64)", 36928),
            ("MaxPooling2D", "(None, 3, 3, 64)", 0),
            ("Flatten", "(None, 576)", 0),
            ("Dense", "(None, 64)", 36928),
            ("Dense", "(None, 64)", 4160),
            ("Dense", "(None, 10)", 650),
        ],
        97482,
        0,
    ),
    "with_bn": (
        [
            ("Conv2D", "(None, 28, 28, 32)", 320),
            ("BatchNormalization", "(None, 28, 28, 32)", 128),
            ("MaxPooling2D", "(None, 14, 14, 32)", 0),
            ("Conv2D", "(None, 14, 14, 64)", 18496),
            ("BatchNormalization", "(None, 14, 14, 64)", 256),
            ("MaxPooling2D", "(None, 7, 7, 64)", 0),
            ("Conv2D", "(None, 7, 7, 64)", 36928),
            ("BatchNormalization", "(None, 7, 7, 64)", 256),
            ("MaxPooling2D", "(None, 3, 3, 64)", 0),
            ("Flatten", "(None, 576)", 0),
            ("Dense", "(None, 64)", 36928),
            ("Dense", "(None, 64)", 4160),
            ("Dense", "(None, 10)", 650),
        ],
        98122,
        320,
    ),
    "shallower": (
        [
            ("Conv2D", "(None, 28, 28, 32)", 320),
            ("MaxPooling2D", "(None, 14, 14, 32)", 0),
            ("Conv2D", "(None, 14, 14, 64)", 18496),
            ("MaxPooling2D", "(None, 7, 7, 64)", 0),
            ("Flatten", "(None, 3136)", 0),
            ("Dense", "(None, 64)", 200768),
            ("Dense", "(None, 64)", 4160),
            ("Dense", "(None, 10)", 650),
        ],
        224394,
        0,
    ),
    "deeper": (
        [
            ("Conv2D", "(None, 28, 28, 32)", 320),
            ("MaxPooling2D", "(None, 14, 14, 32)", 0),
            ("Conv2D", "(None, 14, 14, 64)", 18496),
            ("MaxPooling2D", "(None, 7, 7, 64)", 0),
            ("Conv2D", "(None, 7, 7, 64)", 36928),
            ("MaxPooling2D", "(None, 3, 3, 64)", 0),
            ("Conv2D", "(None, 3, 3, 64)", 36928),
            ("MaxPooling2D", "(None, 1, 1, 64)", 0),
            ("Flatten", "(None, 64)", 0),
            ("Dense", "(None, 64)", 4160),
            ("Dense", "(None, 64)", 4160),
            ("Dense", "(None, 10)", 650),
        ],
        101642,
        0,
    ),
}

# The input and classes of the study's dataset, from the registry.
MNIST_SHAPE = (datasets.MNIST.image_shape, datasets.MNIST.num_classes)

SCHEMA_DEFAULTS = {
    "kernel_size": 3,
    "pool_size": 2,
    "batch_norm": False,
    "activation": "relu",
    "output_activation": "softmax",
    "loss_on": "logits",
}


def default_variants():
    """The default study's variants, bases resolved and defaults filled in."""
    return Study.from_config(config.read_config(REPO / "config.yaml")).variants


def test_default_config_holds_the_original_four_and_the_sigmoid_claim():
    variants = default_variants()
    assert list(variants) == [*ORIGINAL_TABLES, "sigmoid_output"]
    # The original's sigmoid claim: the baseline with only its output changed, and the
    # loss computed from that output as the original's tf.keras could have.
    assert variants["sigmoid_output"] == {
        **variants["baseline"],
        "output_activation": "sigmoid",
        "loss_on": "probabilities",
    }
    table = models.layer_table(models.build_model(variants["sigmoid_output"], *MNIST_SHAPE))
    assert table["total_params"] == ORIGINAL_TABLES["baseline"][1]


@pytest.mark.parametrize("variant", list(ORIGINAL_TABLES))
def test_layer_table_matches_the_original(variant):
    rows, total, non_trainable = ORIGINAL_TABLES[variant]
    table = models.layer_table(models.build_model(default_variants()[variant], *MNIST_SHAPE))
    assert [(r["type"], r["output_shape"], r["params"]) for r in table["layers"]] == rows
    assert table["total_params"] == total
    assert table["non_trainable_params"] == non_trainable
    assert table["trainable_params"] == total - non_trainable


def test_feature_maps_shrink_by_the_pool():
    arch = {**SCHEMA_DEFAULTS, "conv_filters": [8, 8, 8, 8]}
    assert models.feature_map_sizes(arch, datasets.MNIST.image_shape) == [
        (14, 14),
        (7, 7),
        (3, 3),
        (1, 1),
    ]


def test_pooling_to_nothing_is_refused_before_building():
    arch = {**SCHEMA_DEFAULTS, "conv_filters": [8] * 5, "dense_units": []}
    with pytest.raises(models.ArchitectureError, match=r"conv_filters: stage 5 of 5.*at most 4"):
        models.feature_map_sizes(arch, datasets.MNIST.image_shape)
