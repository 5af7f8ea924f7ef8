"""Training speed, side by side: plain ``model.fit`` (as the original report) vs this
workflow's training path, on the same data, model, seed and batch size.

    .venv/bin/python benchmarks/train_speed.py [--variant baseline] [--epochs 1] [--rounds 3]

Each path runs in its own process (so peak memory is its own), after a warm-up,
alternating plain and workflow for ``--rounds`` rounds. Each run reports ms per
step, images per second, the fraction of the machine's FLOP floor reached, peak
RSS, the validation accuracy it reached (equal learning is shown, not assumed), and
how many cores it actually got (a shared machine's speed drifts between runs).
Needs resources/mnist.npz: run ``snakemake --cores 1 resources/mnist.npz`` first.
"""

from __future__ import annotations

import argparse
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

from ablation import datasets, models, training  # noqa: E402



def workflow_training_defaults() -> dict:
    """The training settings a default study uses: config.yaml over the schema's defaults."""
    import yaml

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    fields = schema["properties"]["training"]["properties"]
    config = yaml.safe_load((ROOT / "config.yaml").read_text())["training"]
    return {**{k: v["default"] for k, v in fields.items() if "default" in v}, **config}


def forward_flops(arch, image_shape=(28, 28), num_classes=10) -> int:
    """Multiply-adds x 2 of one image's forward pass (convs and dense layers)."""
    h, w = image_shape
    channels, flops = 1, 0
    k = arch["kernel_size"]
    for filters in arch["conv_filters"]:
        flops += 2 * h * w * k * k * channels * filters
        channels = filters
        h, w = h // arch["pool_size"], w // arch["pool_size"]
    width = h * w * channels
    for units in [*arch["dense_units"], num_classes]:
        flops += 2 * width * units
        width = units
    return flops


def variant_arch(name):
    import yaml

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    defaults = {"kernel_size": 3, "pool_size": 2, "batch_norm": False, "activation": "relu",
                "output_activation": "softmax"}  # fmt: skip
    return {**defaults, **config["variants"][name]}


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


def run_one(mode: str, variant: str, epochs: int, threads: int, seed: int) -> dict:
    training.configure_tensorflow(threads, seed)
    import keras
    import numpy as np

    arrays = datasets.load_dataset(ROOT / "resources" / "mnist.npz", datasets.MNIST)
    parts = datasets.split(arrays, 0.1)
    arch = variant_arch(variant)
    cfg = dict(workflow_training_defaults(), epochs=epochs)
    steps = math.ceil(len(parts["train"][0]) / cfg["batch_size"])
    if mode == "plain":
        # As the original: float32 arrays in memory, validation_split inside fit.
        x = arrays["x_train"].astype("float32")[..., None] / 255.0
        y = arrays["y_train"]
        cfg = dict(cfg, steps_per_execution=1)  # Keras's default, as the original compiled
        model = models.build_model(arch)
        models.compile_model(model, cfg)
        model.fit(x[:320], y[:320], batch_size=32, epochs=1, verbose=0)  # warm-up
        keras.utils.set_random_seed(seed)
        model = models.build_model(arch)
        models.compile_model(model, cfg)
        start, cpu = time.perf_counter(), cpu_seconds()
        history = model.fit(x, y, batch_size=32, epochs=epochs, validation_split=0.1, verbose=0)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        val_accuracy = history.history["val_accuracy"][-1]
    else:
        warm = {k: (v[0][:320], v[1][:320]) for k, v in parts.items()}
        training.train(arch=arch, training=dict(cfg, epochs=1), seed=seed, train_xy=warm["train"],
                       validation_xy=warm["validation"], checkpoint_dir="/tmp/bench-warmup",
                       verbose=0)  # fmt: skip
        keras.utils.set_random_seed(seed)
        start, cpu = time.perf_counter(), cpu_seconds()
        result = training.train(arch=arch, training=cfg, seed=seed, train_xy=parts["train"],
                                validation_xy=parts["validation"],
                                checkpoint_dir=f"/tmp/bench-{os.getpid()}", verbose=0)  # fmt: skip
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        val_accuracy = result["history"][-1]["val_accuracy"]
        training.remove_checkpoints(f"/tmp/bench-{os.getpid()}")
    images = epochs * len(parts["train"][0])
    train_flops = 3 * forward_flops(arch) * images  # forward + backward ~ 3x forward
    return {
        "mode": mode,
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
    parser.add_argument("--mode", choices=["plain", "workflow"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(run_one(args.mode, args.variant, args.epochs, args.threads, args.seed)))
        return
    print(f"{args.variant}, {args.epochs} epoch(s) of batch 32, {args.threads} threads, "
          f"{args.rounds} rounds, {training.cpu_model()}")  # fmt: skip
    print(f"{'round':<6}{'path':<10}{'ms/step':>9}{'img/s':>9}{'GFLOP/s':>9}{'floor%':>8}"
          f"{'cores':>7}{'RSS MB':>8}{'val acc':>9}")  # fmt: skip
    rows = []
    # Alternating rounds: a shared machine's speed drifts (here it halves at times),
    # so each round compares the two paths under the same conditions.
    for round_ in range(1, args.rounds + 1):
        for mode in ("plain", "workflow"):
            out = subprocess.run(
                [sys.executable, __file__, "--mode", mode, "--variant", args.variant,
                 "--epochs", str(args.epochs), "--threads", str(args.threads),
                 "--seed", str(args.seed)],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            r = dict(json.loads(out.strip().splitlines()[-1]), round=round_)
            rows.append(r)
            print(
                f"{round_:<6}{r['mode']:<10}{r['ms_per_step']:>9.2f}{r['images_per_second']:>9.0f}"
                f"{r['achieved_gflops']:>9.1f}{100 * r['achieved_gflops'] / r['matmul_gflops']:>7.0f}%"
                f"{r['cores_used']:>7.2f}{r['peak_rss_mb']:>8.0f}{r['val_accuracy']:>9.4f}",
                flush=True,
            )
    ratios = [
        p["seconds"] / w["seconds"]
        for p, w in zip(rows[::2], rows[1::2], strict=True)
    ]
    median = {m: statistics.median(r["ms_per_step"] for r in rows if r["mode"] == m)
              for m in ("plain", "workflow")}  # fmt: skip
    print(f"median ms/step: plain {median['plain']:.2f}, workflow {median['workflow']:.2f}; "
          f"speed-up of the workflow path per round: {', '.join(f'{x:.2f}x' for x in ratios)} "
          f"(median {statistics.median(ratios):.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
