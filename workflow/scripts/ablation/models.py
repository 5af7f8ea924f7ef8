"""CNN variants built from their description in config.yaml.

A variant is data: conv filters (each a k x k 'same' conv, optionally batch-normed,
then a pool and optionally dropout), a head, dense units, activations. The model
reads like the original report's diagram:

    conv -> [batch norm] -> max- or average-pool -> [dropout]   (per conv_filters entry)
    flatten or global average -> (dense -> [dropout]) ... -> dense(num_classes, output)
"""

from __future__ import annotations

import functools
from typing import Any

from .errors import ArchitectureError

# The keys added after the first studies were trained, each with the value that builds
# the model they trained (the schema's default, which a test holds equal). A job's
# architecture leaves out those at that value, so its params and checkpoint
# fingerprint, and the weights of every study trained before, stay what they were.
ORIGINAL_MODEL = {
    "conv_activation": None,
    "pooling": "max",
    "conv_dropout": 0,
    "head": "flatten",
    "dense_dropout": 0,
}
# Keys of a variant's architecture that change the model. Everything the builder
# reads is listed here, so the workflow can hand each job exactly these.
ARCHITECTURE_KEYS = (
    "conv_filters",
    "kernel_size",
    "pool_size",
    "batch_norm",
    "activation",
    "dense_units",
    "output_activation",
    "loss_on",
    *ORIGINAL_MODEL,
)


def job_architecture(arch: dict[str, Any]) -> dict[str, Any]:
    """A variant's architecture as a job gets it: without later keys at the value
    that builds the original model."""
    return {k: v for k, v in arch.items() if k not in ORIGINAL_MODEL or v != ORIGINAL_MODEL[k]}


# What the cross-entropy is computed from (a variant's `loss_on`):
#  logits         Keras 3 and tf.keras >= 2.4: the pre-activation Keras stores on a
#                 softmax *or sigmoid* output (`_keras_logits`), so a sigmoid output
#                 trains exactly the softmax model.
#  probabilities  tf.keras <= 2.3 on a non-softmax output: the output itself,
#                 clipped to [eps, 1 - eps], then softmax cross-entropy on its log,
#                 i.e. -log(clip(p_y) / sum_j clip(p_j)).
LOSS_ON = ("logits", "probabilities")
PROBABILITY_LOSS = "crossentropy_on_probabilities"


def feature_map_sizes(arch: dict[str, Any], image_shape: tuple[int, int]) -> list[tuple[int, int]]:
    """Spatial size after each conv/pool stage; raises if it pools to nothing.

    Convolutions use 'same' padding, so only the pools shrink the map, each to
    floor(size / pool_size) as Keras's 'valid' pooling does. A kernel wider than
    the map its conv sees would mostly multiply padding: refused.
    """
    pool, kernel = arch["pool_size"], arch["kernel_size"]
    h, w = image_shape
    sizes = []
    for stage, _ in enumerate(arch["conv_filters"], start=1):
        if h < pool or w < pool:
            raise ArchitectureError(
                f"conv_filters: stage {stage} of {len(arch['conv_filters'])} would pool "
                f"a {h}x{w} feature map with a {pool}x{pool} window: "
                f"the {image_shape[0]}x{image_shape[1]} input is pooled to nothing; "
                f"use at most {stage - 1} conv layers or a smaller pool_size"
            )
        if kernel > min(h, w):
            raise ArchitectureError(
                f"kernel_size: {kernel} is larger than the {h}x{w} feature map conv layer "
                f"{stage} of {len(arch['conv_filters'])} sees; use a kernel of at most "
                f"{min(h, w)} or fewer conv layers"
            )
        h, w = h // pool, w // pool
        sizes.append((h, w))
    return sizes


# TensorFlow's CPU kernels of rsqrt and reciprocal (Eigen's prsqrt, preciprocal;
# also Softmax's normalization) start from the processor's approximate instruction
# (rsqrtps, rcpps: about 12 bits) and refine it with one Newton step: the last bits
# differ between Intel and AMD processors. Keras's BatchNormalization normalizes by
# rsqrt(variance + epsilon), and TensorFlow's gradient of log multiplies by
# reciprocal(x), so with_bn and a loss on probabilities trained other weights on an
# Intel Xeon than on AMD EPYC. With `numerics: exact_reciprocals` (the default) both
# are IEEE divisions and square roots, correctly rounded on every x86-64 processor
# (docs/numerics.md). Through DivNoNan: TensorFlow's graph optimizer rewrites
# 1 / x into Reciprocal and x / sqrt(y) into x * Rsqrt(y), but leaves DivNoNan,
# which divides as "/" does wherever the divisor is not 0 (it never is here).


def ieee_divide(x, y):
    """x / y, correctly rounded on every processor, also inside a tf.function."""
    import tensorflow as tf

    return tf.math.divide_no_nan(x, y)


@functools.cache
def exact_batch_normalization():
    """Keras's BatchNormalization but normalizing by 1 / sqrt(variance + epsilon)
    as IEEE division and square root rather than rsqrt; the same otherwise (its
    moments, moving statistics, weights and saved form), registered so saved
    models load. The same as Keras's to within float rounding."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="ablation", name="BatchNormalization")
    class BatchNormalization(keras.layers.BatchNormalization):
        def call(self, inputs, training=None, mask=None):
            # Keras's own path wherever ours would differ from it in more than rsqrt.
            last = self.axis in (-1, len(inputs.shape) - 1)
            if mask is not None or self.renorm or not last or inputs.dtype != "float32":
                return super().call(inputs, training=training, mask=mask)
            if training and self.trainable:
                mean, variance = self._moments(inputs, mask)
                self.moving_mean.assign(
                    self.moving_mean * self.momentum + mean * (1.0 - self.momentum)
                )
                self.moving_variance.assign(
                    self.moving_variance * self.momentum + variance * (1.0 - self.momentum)
                )
            else:
                mean, variance = self.moving_mean, self.moving_variance
            # As tf.nn.batch_normalization, rsqrt aside: x * inv + (beta - mean * inv).
            inv = ieee_divide(ops.ones_like(variance), ops.sqrt(variance + self.epsilon))
            if self.scale:
                inv = inv * self.gamma
            offset = self.beta - mean * inv if self.center else -mean * inv
            return ops.cast(inputs * inv + offset, self.compute_dtype)

    return BatchNormalization


def log_with_exact_gradient(x):
    """log(x), its gradient dy / x by IEEE division (TensorFlow's: dy * reciprocal(x))."""
    import tensorflow as tf

    @tf.custom_gradient
    def log(x):
        return tf.math.log(x), lambda dy: ieee_divide(dy, x)

    return log(x)


def build_model(
    arch: dict[str, Any],
    image_shape: tuple[int, int],
    num_classes: int,
    name: str | None = None,
    exact_reciprocals: bool = True,
):
    """The Keras model of one variant (uncompiled); ``exact_reciprocals``: the
    study's `numerics:` setting (see ieee_divide)."""
    import keras
    from keras import layers

    arch = {**ORIGINAL_MODEL, **arch}
    feature_map_sizes(arch, image_shape)
    pool = {"max": layers.MaxPooling2D, "average": layers.AveragePooling2D}[arch["pooling"]]
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=(*image_shape, 1)))
    for filters in arch["conv_filters"]:
        model.add(
            layers.Conv2D(
                filters,
                arch["kernel_size"],
                padding="same",
                activation=arch["conv_activation"] or arch["activation"],
            )
        )
        if arch["batch_norm"]:
            batch_norm = (
                exact_batch_normalization() if exact_reciprocals else layers.BatchNormalization
            )
            model.add(batch_norm())
        model.add(pool(arch["pool_size"]))
        if arch["conv_dropout"]:
            model.add(layers.Dropout(arch["conv_dropout"]))
    model.add(layers.Flatten() if arch["head"] == "flatten" else layers.GlobalAveragePooling2D())
    for units in arch["dense_units"]:
        model.add(layers.Dense(units, activation=arch["activation"]))
        if arch["dense_dropout"]:
            model.add(layers.Dropout(arch["dense_dropout"]))
    model.add(layers.Dense(num_classes, activation=arch["output_activation"]))
    return model


@functools.cache
def crossentropy_on_probabilities(exact_reciprocals: bool = True):
    """The loss of ``loss_on: probabilities``, registered so saved models load;
    ``exact_reciprocals``: log's gradient by IEEE division (log_with_exact_gradient),
    else Keras's log, under a name of its own."""
    import keras
    from keras import ops

    name = PROBABILITY_LOSS if exact_reciprocals else f"{PROBABILITY_LOSS}_keras_log"
    log = log_with_exact_gradient if exact_reciprocals else ops.log

    @keras.saving.register_keras_serializable(package="ablation", name=name)
    def loss(y_true, y_pred):
        # A new tensor: it carries no stored logits, so Keras cannot swap them in.
        eps = keras.config.epsilon()
        log_p = log(ops.clip(y_pred, eps, 1 - eps))
        return ops.sparse_categorical_crossentropy(y_true, log_p, from_logits=True)

    return loss


def read_model(path):
    """A saved model, with this module's layers and losses known; safe_mode refuses
    models whose files would run arbitrary code (lambdas)."""
    import keras

    custom = {
        f"ablation>{PROBABILITY_LOSS}": crossentropy_on_probabilities(True),
        f"ablation>{PROBABILITY_LOSS}_keras_log": crossentropy_on_probabilities(False),
        "ablation>BatchNormalization": exact_batch_normalization(),
    }
    return keras.models.load_model(path, custom_objects=custom, safe_mode=True)


def compile_model(
    model,
    training: dict[str, Any],
    loss_on: str = "logits",
    steps_per_execution: int = 1,
    exact_reciprocals: bool = True,
) -> None:
    import keras

    if loss_on not in LOSS_ON:
        raise ArchitectureError(f"loss_on: {loss_on!r} is not one of {', '.join(LOSS_ON)}")
    optimizer = keras.optimizers.get(
        {
            "class_name": training["optimizer"],
            "config": {"learning_rate": training["learning_rate"]},
        }
    )
    model.compile(
        optimizer=optimizer,
        loss=(
            crossentropy_on_probabilities(exact_reciprocals)
            if loss_on == "probabilities"
            else training["loss"]
        ),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )


def layer_table(model) -> dict[str, Any]:
    """The model summary as data: one row per layer, and the parameter totals."""
    import numpy as np

    rows = [
        {
            "layer": layer.name,
            "type": type(layer).__name__,
            "output_shape": "(" + ", ".join(str(d) for d in layer.output.shape) + ")",
            "params": int(layer.count_params()),
        }
        for layer in model.layers
    ]
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    total = int(model.count_params())
    return {
        "layers": rows,
        "total_params": total,
        "trainable_params": trainable,
        "non_trainable_params": total - trainable,
    }
