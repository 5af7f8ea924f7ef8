"""Where a training step's time goes: each stage of a variant, timed on its own.

    .venv/bin/python benchmarks/layer_costs.py [--variant baseline] [--steps 200]

The variant's model (as the workflow builds it) is cut into stages, each conv stage
(conv, activation, [batch norm], pool) and the dense head, and each stage is timed
as a small model of its own, forward and forward + backward at batch 32 on random
input of the shape it sees in the full model, after a warm-up. The backward pass
computes the input's gradient too, except for the first stage (the images need
none), as in training. Prints ms per step, the share of the sum, and GFLOP/s against
TensorFlow's matrix multiply here: the stages far below it are where the time goes.
"""

from __future__ import annotations

import argparse
import os
import time

from train_speed import datasets, layer_flops, matmul_gflops, models, set_threads, variant_arch


def stages(arch):
    """(name, fresh copies of the stage's layers, input shape, forward FLOPs per image)."""
    model = models.build_model(arch, datasets.MNIST.image_shape, datasets.MNIST.num_classes)
    stage, count = [], 0
    for layer in model.layers:
        stage.append(layer)
        if type(layer).__name__ == "MaxPooling2D" or layer is model.layers[-1]:
            first = stage[0]
            count += 1
            name = (f"conv{count} {first.input.shape[-1]}->{first.filters} at "
                    f"{first.input.shape[1]}x{first.input.shape[2]}"
                    if hasattr(first, "filters") else "dense head")  # fmt: skip
            copies = [type(layer).from_config(layer.get_config()) for layer in stage]
            yield name, copies, tuple(first.input.shape[1:]), sum(map(layer_flops, stage))
            stage = []


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

    set_threads(args.threads)
    rows = []
    for i, (name, block, shape, flops) in enumerate(stages(variant_arch(args.variant))):
        input_gradient = i > 0  # the images need no gradient
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
