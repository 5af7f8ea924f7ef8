"""Which oneDNN / TensorFlow settings make a training's weights the same on every
x86-64 CPU, and what each costs in speed, side by side on this machine.

    .venv/bin/python benchmarks/cpu_numerics.py [--rounds 2] [--images 5400]
        [--variants baseline,with_bn,sigmoid_output] [--settings uncapped,avx2,...] [--record]

For each setting (environment variables read when TensorFlow starts) and variant,
a fresh process trains the variant for one epoch with seed 1 and one thread, as
rule train does, twice:
- on the tiny study's split (tests/configs/tiny.yaml: 540 training images), whose
  weights SHA-256 is what benchmarks/cpu_numerics.csv records per CPU kind;
- on ``--images`` training images, timed (the first training warmed it up), the settings
  alternating for ``--rounds`` rounds, so their speeds compare within one run.

``ONEDNN_MAX_CPU_ISA`` caps the instruction set oneDNN's just-in-time kernels
dispatch to (TensorFlow's matmul and conv go through oneDNN's sgemm even with
``TF_ENABLE_ONEDNN_OPTS=0``): capping it at AVX2 on an AVX-512 CPU runs the kernels
an AVX2-only CPU (AMD Zen 3) runs. Needs resources/mnist.npz
(``snakemake --cores 1 resources/mnist.npz``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

# Set in a training process's environment: `numerics: exact_reciprocals: false`.
TF_RECIPROCALS = "ABLATION_BENCHMARK_TF_RECIPROCALS"

# name -> environment of the training process. "uncapped": oneDNN uses the CPU's
# own instruction set (the study's `numerics: onednn_max_cpu_isa: null`).
SETTINGS = {
    "uncapped": {},
    "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "avx512": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"},
    "avx": {"ONEDNN_MAX_CPU_ISA": "AVX"},
    "onednn_off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "onednn_off_avx2": {"TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "sse41": {"ONEDNN_MAX_CPU_ISA": "SSE41"},
    # The default cap with TensorFlow's own rsqrt and reciprocal (`numerics:
    # exact_reciprocals: false`), whose last bits are the CPU vendor's (issue 35).
    "avx2_tf_reciprocals": {"ONEDNN_MAX_CPU_ISA": "AVX2", TF_RECIPROCALS: "1"},
}


def child(variant: str, images: int, checkpoint_dir: str) -> dict:
    """One process: the tiny study's training, then a timed one on ``images``
    (none for 0)."""
    import time

    import yaml
    from ablation import atomic, dataset_checks, datasets, devices, splits, training
    from train_speed import variant_arch, workflow_defaults

    # As rule train: the study's numerics, here one thread and the cap this process
    # was started with.
    numerics = {"threads": 1, "onednn_max_cpu_isa": os.environ.get(devices.ONEDNN_ISA_ENV),
                "exact_reciprocals": not os.environ.get(TF_RECIPROCALS)}  # fmt: skip
    devices.configure_tensorflow(numerics)
    arrays = dataset_checks.load_dataset(ROOT / "resources" / "mnist.npz", datasets.MNIST)
    tiny = yaml.safe_load((ROOT / "tests" / "configs" / "tiny.yaml").read_text())
    cfg = dict(workflow_defaults("training"), **tiny["training"])
    arch = variant_arch(variant)
    common = dict(arch=arch, seed=1, num_classes=datasets.MNIST.num_classes, numerics=numerics,
                  execution=workflow_defaults("execution"), verbose=0)  # fmt: skip

    def fit(parts, out):
        result = training.train(training=cfg, train_xy=parts["train"],
                                validation_xy=parts["validation"],
                                checkpoint_dir=f"{checkpoint_dir}/{out}", **common)  # fmt: skip
        atomic.remove_folder(f"{checkpoint_dir}/{out}")
        return result

    s = tiny["split"]
    tiny_result = fit(splits.split(arrays, s["validation_fraction"], s["train_limit"]), "tiny")
    facts = tiny_result["facts"]
    tiny_facts = {"tiny_sha256": facts["weights_sha256"], "numerics": facts["environment"]["numerics"],
                  "tensorflow": facts["environment"]["tensorflow"]}  # fmt: skip
    if not images:
        return tiny_facts
    timed_parts = splits.split(arrays, 0.1, int(images / 0.9))
    start, cpu = time.perf_counter(), os.times()
    timed = fit(timed_parts, "timed")
    seconds, cpu_end = time.perf_counter() - start, os.times()
    # CPU time as well: on a shared virtual machine the wall time also counts the
    # moments the host ran others (steal), which vary from minute to minute.
    cpu_seconds = (cpu_end.user + cpu_end.system) - (cpu.user + cpu.system)
    return {
        **tiny_facts,
        "timed_sha256": timed["facts"]["weights_sha256"],
        "seconds": seconds,
        "images_per_second": len(timed_parts["train"][0]) / seconds,
        "images_per_cpu_second": len(timed_parts["train"][0]) / cpu_seconds,
    }


def run(setting: str, variant: str, images: int) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **SETTINGS[setting]}
    out = subprocess.run(
        [sys.executable, __file__, "--child", variant, "--images", str(images)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


RECORD = ROOT / "benchmarks" / "cpu_numerics.csv"
# reciprocals: "ieee" (`numerics: exact_reciprocals`, the default since issue 35) or
# "tensorflow" (TensorFlow's rsqrt and reciprocal; every row recorded before).
RECORD_COLUMNS = ["cpu", "cpu_isa", "setting", "onednn_isa_used", "tensorflow", "variant",
                  "tiny_weights_sha256", "date", "reciprocals"]  # fmt: skip


def record(settings: list[str], variants: list[str]) -> None:
    """Append this CPU kind's tiny-study weights per setting and variant to RECORD."""
    import csv
    import datetime

    from ablation import devices
    from ablation.devices import cpu_model

    new = not RECORD.exists()
    with RECORD.open("a", newline="", encoding="utf-8") as f:
        out = csv.DictWriter(f, RECORD_COLUMNS, lineterminator="\n")
        if new:
            out.writeheader()
        for setting in settings:
            for variant in variants:
                res = run(setting, variant, 0)
                row = {"cpu": cpu_model(), "cpu_isa": devices.cpu_isa(), "setting": setting,
                       "onednn_isa_used": res["numerics"]["cpu_isa"],
                       "tensorflow": res["tensorflow"], "variant": variant,
                       "tiny_weights_sha256": res["tiny_sha256"],
                       "date": datetime.date.today().isoformat(),
                       "reciprocals": "ieee" if res["numerics"]["exact_reciprocals"]
                       else "tensorflow"}  # fmt: skip
                out.writerow(row)
                print(row, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--images", type=int, default=5400)
    parser.add_argument("--variants", default="baseline,with_bn,sigmoid_output")
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--record", action="store_true",
                        help=f"only the tiny study's hashes, appended to {RECORD.name}")  # fmt: skip
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.images, f"/tmp/numerics-{os.getpid()}")))
        return
    from ablation.devices import cpu_model

    settings, variants = args.settings.split(","), args.variants.split(",")
    if args.record:
        record(settings, variants)
        return
    print(f"CPU: {cpu_model()}; {len(os.sched_getaffinity(0))} cores", flush=True)
    results: dict[tuple[str, str], list[dict]] = {}
    for r in range(args.rounds):
        for variant in variants:
            for setting in settings if r % 2 == 0 else reversed(settings):
                res = run(setting, variant, args.images)
                results.setdefault((setting, variant), []).append(res)
                print(f"round {r + 1} {variant:15} {setting:16} tiny {res['tiny_sha256'][:12]} "
                      f"timed {res['timed_sha256'][:12]} {res['images_per_second']:7.1f} img/s "
                      f"{res['images_per_cpu_second']:7.1f} img/cpu-s", flush=True)  # fmt: skip
    print(f"\nsetting           variant          tiny-study weights SHA-256   "
          f"img/s (median) vs {settings[0]}   img/cpu-s (median) vs {settings[0]}")  # fmt: skip
    for variant in variants:

        def median(setting, key):
            return statistics.median(x[key] for x in results[(setting, variant)])

        for setting in settings:
            shas = {x["tiny_sha256"] for x in results[(setting, variant)]}  # one: deterministic
            wall, cpu = median(setting, "images_per_second"), median(
                setting, "images_per_cpu_second"
            )
            print(f"{setting:17} {variant:16} {','.join(sorted(s[:16] for s in shas)):28} "
                  f"{wall:7.1f} {wall / median(settings[0], 'images_per_second'):6.2f}x "
                  f"{cpu:12.1f} {cpu / median(settings[0], 'images_per_cpu_second'):6.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
