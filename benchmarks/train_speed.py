"""Training speed, side by side: plain ``model.fit`` (as the original report) vs this
workflow's training path, on the same data, model, seed and batch size.

    .venv/bin/python benchmarks/train_speed.py [--variant baseline] [--epochs 1] [--rounds 3]
        [--paths plain,plain_pipeline,workflow,workflow_tf_reciprocals]

A third path, plain_pipeline, is the plain ``model.fit`` fed this workflow's uint8
``tf.data`` pipeline instead of float32 arrays: it tells the input pipeline's share
of the difference from the rest (steps per call, determinism, checkpoints). A
fourth, workflow_tf_reciprocals, is the workflow's path with TensorFlow's own rsqrt
and reciprocal (`numerics: exact_reciprocals: false`): it prices the IEEE ones.
Each path runs in its own process (so peak memory is its own), after a warm-up,
alternating the paths for ``--rounds`` rounds. Each run reports ms per
step, images per second, the fraction of the machine's FLOP floor reached, peak
RSS, the validation accuracy it reached (equal learning is shown, not assumed), and
how many cores it actually got, with the CPU time per step: this machine gives a
process about 1 or about 1.8 cores, changing between runs, so only rounds in which
the paths got the same count toward the speed-up.
Needs resources/mnist.npz: run ``snakemake --cores 1 resources/mnist.npz`` first.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from ablation import (
    atomic,
    config,
    dataset_checks,
    datasets,
    devices,
    models,
    pipeline,
    splits,
    training,
)  # noqa: E402
from ablation.study import Study  # noqa: E402


def workflow_defaults(section: str) -> dict:
    """A config section of the default study, as the workflow sees it."""
    return config.read_config(ROOT / "config.yaml")[section]


def variant_arch(name):
    """A variant of the default study, every architecture key filled in."""
    return Study.from_config(config.read_config(ROOT / "config.yaml")).variants[name]


def layer_flops(layer) -> int:
    """Multiply-adds x 2 of one image through a conv or dense layer (0 for the rest)."""
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        return 0
    positions = math.prod(layer.output.shape[1:-1])  # output pixels; 1 for dense
    return 2 * positions * math.prod(kernel.shape)


def forward_flops(arch) -> int:
    """One image's forward pass through the variant's model, convs and dense layers."""
    model = models.build_model(arch, datasets.MNIST.image_shape, datasets.MNIST.num_classes)
    return sum(layer_flops(layer) for layer in model.layers)


def set_threads(threads: int) -> None:
    """TensorFlow's two thread pools, as train.py sizes them from the rule's threads."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def matmul_gflops(threads: int) -> float:
    """TensorFlow's own float32 matrix multiply rate here: the practical peak."""
    import tensorflow as tf

    a = tf.random.uniform((1024, 1024))
    tf.linalg.matmul(a, a).numpy()
    runs = 20
    start = time.perf_counter()
    for _ in range(runs):
        b = tf.linalg.matmul(a, a)
    b.numpy()
    return runs * 2 * 1024**3 / (time.perf_counter() - start) / 1e9


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


# workflow_tf_reciprocals: the workflow's path with `numerics: exact_reciprocals:
# false` (TensorFlow's rsqrt and reciprocal), to price the IEEE ones (issue 35).
PATHS = ("plain", "plain_pipeline", "workflow", "workflow_tf_reciprocals")


def run_one(mode: str, variant: str, epochs: int, threads: int, seed: int) -> dict:
    import keras

    path = mode  # reported as asked; the tf_reciprocals path is the workflow's
    numerics = {**workflow_defaults("numerics"), "threads": threads}
    if path == "workflow_tf_reciprocals":
        mode, numerics["exact_reciprocals"] = "workflow", False
    if mode == "workflow":
        devices.configure_tensorflow(numerics)  # train() seeds itself
    else:
        # The same threads, oneDNN kernels and seed, without the workflow's op determinism.
        os.environ[devices.ONEDNN_ISA_ENV] = numerics["onednn_max_cpu_isa"]
        set_threads(threads)
        keras.utils.set_random_seed(seed)
    import numpy as np

    arrays = dataset_checks.load_dataset(ROOT / "resources" / "mnist.npz", datasets.MNIST)
    parts = splits.split(arrays, 0.1)
    arch = variant_arch(variant)
    cfg = dict(workflow_defaults("training"), epochs=epochs)
    execution = workflow_defaults("execution")
    steps = math.ceil(len(parts["train"][0]) / cfg["batch_size"])
    if mode == "workflow":
        warm = {k: (v[0][:320], v[1][:320]) for k, v in parts.items()}
        training.train(arch=arch, training=dict(cfg, epochs=1), seed=seed, train_xy=warm["train"],
                       validation_xy=warm["validation"], checkpoint_dir="/tmp/bench-warmup",
                       execution=execution, numerics=numerics,
                       num_classes=datasets.MNIST.num_classes, verbose=0)  # fmt: skip
        start, cpu = time.perf_counter(), cpu_seconds()
        result = training.train(arch=arch, training=cfg, seed=seed, train_xy=parts["train"],
                                validation_xy=parts["validation"], execution=execution,
                                numerics=numerics, num_classes=datasets.MNIST.num_classes,
                                checkpoint_dir=f"/tmp/bench-{os.getpid()}", verbose=0)  # fmt: skip
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        val_accuracy = result["history"][-1]["val_accuracy"]
        atomic.remove_folder(f"/tmp/bench-{os.getpid()}")
    else:
        # compile_model's steps_per_execution=1 is Keras's default, as the original compiled.
        if mode == "plain":
            # As the original: float32 arrays in memory, validation_split inside fit.
            x = arrays["x_train"].astype("float32")[..., None] / 255.0
            y = arrays["y_train"]
            warm_up = {"x": x[:320], "y": y[:320], "batch_size": 32}
            data = {"x": x, "y": y, "batch_size": 32, "validation_split": 0.1}
        else:
            # plain_pipeline: the same fit, fed the workflow's uint8 tf.data pipeline,
            # to tell the input pipeline's share from the rest of the workflow path.
            (x_tr, y_tr), (x_va, y_va) = parts["train"], parts["validation"]
            batches = functools.partial(
                pipeline.training_batches, batch_size=32, seed=seed, first_epoch=0, epochs=epochs
            )
            warm_up = {"x": batches(x_tr[:320], y_tr[:320]), "steps_per_epoch": 10}
            data = {"x": batches(x_tr, y_tr), "steps_per_epoch": steps,
                    "validation_data": pipeline.evaluation_batches(x_va, y_va, 32)}  # fmt: skip
        model = models.build_model(arch, datasets.MNIST.image_shape, datasets.MNIST.num_classes)
        models.compile_model(model, cfg)
        model.fit(**warm_up, epochs=1, verbose=0)
        keras.utils.set_random_seed(seed)
        model = models.build_model(arch, datasets.MNIST.image_shape, datasets.MNIST.num_classes)
        models.compile_model(model, cfg)
        start, cpu = time.perf_counter(), cpu_seconds()
        history = model.fit(**data, epochs=epochs, verbose=0)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        val_accuracy = history.history["val_accuracy"][-1]
    images = epochs * len(parts["train"][0])
    train_flops = 3 * forward_flops(arch) * images  # forward + backward ~ 3x forward
    return {
        "mode": path,
        "seconds": seconds,
        # CPU seconds per wall second: how many cores the run actually got.
        "cores_used": cpu / seconds,
        "ms_per_step": 1000 * seconds / (epochs * steps),
        "images_per_second": images / seconds,
        "achieved_gflops": train_flops / seconds / 1e9,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "val_accuracy": float(val_accuracy),
        "matmul_gflops": matmul_gflops(threads),
        "np_float64_arrays": sum(isinstance(v, np.ndarray) and v.dtype == np.float64
                                 for v in arrays.values()),  # fmt: skip
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="baseline")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--paths",
        default=",".join(PATHS),
        help="comma-separated, from: " + ", ".join(PATHS),
    )
    parser.add_argument("--mode", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(run_one(args.mode, args.variant, args.epochs, args.threads, args.seed)))
        return
    print(f"{args.variant}, {args.epochs} epoch(s) of batch 32, {args.threads} threads, "
          f"{args.rounds} rounds, {devices.cpu_model()}")  # fmt: skip
    paths = args.paths.split(",")
    if not set(paths) <= set(PATHS) or len(paths) < 2:
        parser.error(f"--paths {args.paths}: give two or more of {', '.join(PATHS)}")
    print(f"{'round':<6}{'path':<16}{'ms/step':>9}{'img/s':>9}{'GFLOP/s':>9}{'floor%':>8}"
          f"{'cores':>7}{'CPU ms/step':>12}{'RSS MB':>8}{'val acc':>9}")  # fmt: skip
    rows = []
    # Alternating rounds: a shared machine's speed drifts (here it halves at times),
    # so each round compares the paths under conditions as close as can be had.
    for round_ in range(1, args.rounds + 1):
        for mode in paths:
            out = subprocess.run(
                [sys.executable, __file__, "--mode", mode, "--variant", args.variant,
                 "--epochs", str(args.epochs), "--threads", str(args.threads),
                 "--seed", str(args.seed)],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            r = dict(json.loads(out.strip().splitlines()[-1]), round=round_)
            rows.append(r)
            print(
                f"{round_:<6}{r['mode']:<16}{r['ms_per_step']:>9.2f}{r['images_per_second']:>9.0f}"
                f"{r['achieved_gflops']:>9.1f}{100 * r['achieved_gflops'] / r['matmul_gflops']:>7.0f}%"
                f"{r['cores_used']:>7.2f}{r['ms_per_step'] * r['cores_used']:>12.1f}"
                f"{r['peak_rss_mb']:>8.0f}{r['val_accuracy']:>9.4f}",
                flush=True,
            )
    by_round = {(r["round"], r["mode"]): r for r in rows}
    if "plain" in paths:
        print(f"plain: median {median_ms(rows, 'plain'):.2f} ms/step")
    for mode in paths[1:] if paths[0] == "plain" else []:
        pairs = [(by_round[i, "plain"], by_round[i, mode]) for i in range(1, args.rounds + 1)]
        ratios = [f"{a['seconds'] / b['seconds']:.2f}x" + ("" if same_cores(a, b) else "*")
                  for a, b in pairs]  # fmt: skip
        fair = [a["seconds"] / b["seconds"] for a, b in pairs if same_cores(a, b)]
        verdict = (f"median {statistics.median(fair):.2f}x over {len(fair)} round(s) with equal cores"
                   if fair else "no round gave both the same cores: run more rounds")  # fmt: skip
        print(f"{mode}: median {median_ms(rows, mode):.2f} ms/step; faster than plain by "
              f"{', '.join(ratios)}; {verdict}")  # fmt: skip
    if {"workflow", "workflow_tf_reciprocals"} <= set(paths):
        pairs = [(by_round[i, "workflow_tf_reciprocals"], by_round[i, "workflow"])
                 for i in range(1, args.rounds + 1)]  # fmt: skip
        costs = [f"{100 * (b['seconds'] / a['seconds'] - 1):+.1f}%"
                 + ("" if same_cores(a, b) else "*") for a, b in pairs]  # fmt: skip
        print(f"IEEE reciprocals (workflow) against TensorFlow's: time {', '.join(costs)}")
    print("* the two got different numbers of cores in that round: not a fair comparison")


def median_ms(rows, mode):
    return statistics.median(r["ms_per_step"] for r in rows if r["mode"] == mode)


def same_cores(a, b, tolerance=0.25):
    """This machine gives a process about 1 or about 1.8 cores, changing between runs
    (as CPU ms per step, the same in both, shows): only runs that got the same compare."""
    return abs(a["cores_used"] - b["cores_used"]) <= tolerance


if __name__ == "__main__":
    main()
