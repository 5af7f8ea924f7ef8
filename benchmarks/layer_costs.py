"""Where a training step's time goes: each stage of a variant, timed on its own.

    .venv/bin/python benchmarks/layer_costs.py [--variant baseline] [--steps 200]

Each conv stage (conv + activation + pool) and the dense head is one small Keras
model, timed forward and forward + backward at batch 32 on random input of the
shape it sees in the full model, after a warm-up. The backward pass computes the
input's gradient too, except for the first stage (the images need none), as in
training. Prints ms per step, the share of the sum, and GFLOP/s against
TensorFlow's matrix multiply here: the stages far below it are where the time goes.
"""

from __future__ import annotations

import argparse
import os
import time

from train_speed import matmul_gflops, variant_arch


def stages(arch, image_shape=(28, 28), num_classes=10):
    """(name, layers, input shape, forward FLOPs per image, needs input gradient)."""
    from keras import layers

    h, w = image_shape
    channels, k = 1, arch["kernel_size"]
    for i, filters in enumerate(arch["conv_filters"], start=1):
        block = [layers.Conv2D(filters, k, padding="same", activation=arch["activation"])]
        if arch["batch_norm"]:
            block.append(layers.BatchNormalization())
        block.append(layers.MaxPooling2D(arch["pool_size"]))
        flops = 2 * h * w * k * k * channels * filters
        yield f"conv{i} {channels}->{filters} at {h}x{w}", block, (h, w, channels), flops, i > 1
        channels = filters
        h, w = h // arch["pool_size"], w // arch["pool_size"]
    head = [layers.Flatten()]
    width, flops = h * w * channels, 0
    for units in arch["dense_units"]:
        head.append(layers.Dense(units, activation=arch["activation"]))
        flops += 2 * width * units
        width = units
    head.append(layers.Dense(num_classes, activation=arch["output_activation"]))
    flops += 2 * width * num_classes
    yield "dense head", head, (h, w, channels), flops, True


def time_stage(block, shape, input_gradient, batch, steps):
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input(shape), *block])
    x = tf.random.uniform((batch, *shape))

    @tf.function
    def forward(x):
        return model(x, training=True)

    @tf.function
    def train(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = model(x, training=True)
            loss = tf.reduce_sum(out * out)
        sources = model.trainable_weights + ([x] if input_gradient else [])
        return tape.gradient(loss, sources)

    seconds = {}
    for name, fn in (("forward", forward), ("train", train)):
        for _ in range(10):  # warm-up: tracing, oneDNN primitive caches
            fn(x)
        start = time.perf_counter()
        for _ in range(steps):
            out = fn(x)
        tf.nest.map_structure(lambda t: t.numpy(), out)
        seconds[name] = (time.perf_counter() - start) / steps
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="baseline")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    arch = variant_arch(args.variant)
    rows = []
    for name, block, shape, flops, input_gradient in stages(arch):
        t = time_stage(block, shape, input_gradient, args.batch_size, args.steps)
        # Backward ~ 2x forward with the input's gradient, ~1x without.
        train_flops = flops * (3 if input_gradient else 2) * args.batch_size
        rows.append((name, t, flops * args.batch_size, train_flops))
    peak = matmul_gflops(args.threads)
    total = sum(t["train"] for _, t, _, _ in rows)
    print(f"{args.variant}, batch {args.batch_size}, {args.threads} threads; "
          f"TensorFlow matmul {peak:.0f} GFLOP/s")  # fmt: skip
    print(f"{'stage':<26}{'fwd ms':>8}{'GFLOP/s':>9}{'train ms':>10}{'GFLOP/s':>9}{'share':>7}")
    for name, t, fwd_flops, train_flops in rows:
        print(
            f"{name:<26}{1000 * t['forward']:>8.2f}{fwd_flops / t['forward'] / 1e9:>9.1f}"
            f"{1000 * t['train']:>10.2f}{train_flops / t['train'] / 1e9:>9.1f}"
            f"{100 * t['train'] / total:>6.0f}%"
        )
    print(f"{'sum':<26}{'':>8}{'':>9}{1000 * total:>10.2f}")


if __name__ == "__main__":
    main()
