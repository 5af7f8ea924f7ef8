"""Deterministic, resumable training of one variant with one seed.

Determinism: ``keras.utils.set_random_seed`` plus TensorFlow's op determinism, and
an input order that is a pure function of (seed, epoch) -- so a run resumed from
the checkpoint of epoch k sees exactly the batches an uninterrupted run would,
and ends with bit-identical weights.

Resumption: after every epoch the full model (weights and optimizer state) and the
history so far are written to the checkpoint directory, each file atomically and
the history last, so a history file always names a complete model. A rerun of a
killed job picks up after the newest such epoch, provided the checkpoint was made
by the same job description (its fingerprint matches); otherwise it starts over.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import atomic, devices, interrupts, models
from .metrics import CURVES
from .pipeline import evaluation_batches, training_batches

log = logging.getLogger(__name__)

# Keras's per-epoch values, between the epoch and its time.
HISTORY_COLUMNS = ("epoch", *CURVES, "seconds")


def steps_per_execution(steps_per_epoch: int, requested: int) -> int:
    """The largest divisor of ``steps_per_epoch`` not above ``requested``.

    Keras runs whole groups of steps, so a group size that does not divide the epoch
    carries steps across epoch boundaries: the per-epoch history and the checkpoints
    (hence resumption) would no longer match epochs. A divisor keeps them exact.
    """
    return max(d for d in range(1, min(requested, steps_per_epoch) + 1) if steps_per_epoch % d == 0)


def weights_sha256(model) -> str:
    """SHA-256 over every weight (trainable or not), in layer order, with shapes."""
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(str(w.shape).encode())
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()


def fingerprint(job: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()


def progress_line(label: str, row: dict, epochs: int, history: list[dict]) -> str:
    """One epoch as the console shows it, with the time the job has left."""
    values = "  ".join(f"{k} {row[k]:.4f}" for k in CURVES if k in row)
    per_epoch = sum(h["seconds"] for h in history) / len(history)
    left = round(per_epoch * (epochs - row["epoch"]))
    when = f"about {left // 60} min {left % 60} s left" if left else "done"
    return f"{label}: epoch {row['epoch']}/{epochs}  {values}  {row['seconds']:.0f} s ({when})"


def epoch_checkpoint_callback(
    directory: Path, job_fingerprint: str, history: list[dict], epochs: int, progress, label
):
    """A Keras callback that times each epoch, checkpoints after it and reports it
    (``progress``: a function taking one line)."""
    import keras

    class EpochCheckpoint(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
            row["seconds"] = time.perf_counter() - self._start
            history.append(row)
            save_checkpoint(directory, self.model, history, job_fingerprint)
            if progress is not None:
                progress(progress_line(label, row, epochs, history))

    return EpochCheckpoint()


def stop_when_snakemake_is_gone(every_seconds: float = 1.0):
    """A Keras callback that stops the training (as Ctrl-C does: its checkpoints
    kept) once the Snakemake process that started it is gone, killed with
    ``kill -9`` or lost with its terminal. Otherwise the orphan would train on to
    its end unseen, while the rerun trains the same run beside it."""
    import keras

    class StopWhenSnakemakeGone(keras.callbacks.Callback):
        _checked = 0.0

        def on_train_begin(self, logs=None):
            self._check()  # the start-up (data, model) may have outlived Snakemake

        def on_train_batch_end(self, batch, logs=None):
            now = time.monotonic()
            if now - self._checked >= every_seconds:
                self._checked = now
                self._check()

        def _check(self):
            if interrupts.snakemake_is_gone():
                log.error("Snakemake's process is gone: stopping, the checkpoints kept")
                raise KeyboardInterrupt

    return StopWhenSnakemakeGone()


def _checkpoint_paths(directory: Path, epoch: int) -> tuple[Path, Path]:
    return directory / f"epoch-{epoch:04d}.keras", directory / f"epoch-{epoch:04d}.json"


def save_checkpoint(directory: Path, model, history: list[dict], job_fingerprint: str) -> None:
    epoch = history[-1]["epoch"]
    model_path, state_path = _checkpoint_paths(directory, epoch)
    with atomic.atomic_path(model_path) as tmp:
        model.save(tmp)
    # Written after the model: a state file always names a complete model.
    state = {
        "fingerprint": job_fingerprint,
        "history": history,
        "random_states": [v.numpy().tolist() for v in random_state_variables(model)],
    }
    atomic.write_json(state_path, state)
    # The history so far, to watch a long run (history.csv appears at its end).
    atomic.write_text(directory / "history.csv", history_csv(history))
    for old in directory.glob("epoch-*"):
        if not old.name.startswith(f"epoch-{epoch:04d}."):
            old.unlink(missing_ok=True)


def random_state_variables(model) -> list:
    """The states of the model's random draws (a Dropout layer's seed generator,
    advanced every training step). Keras does not save them with the model: a
    resumed run sets them back, so it draws the masks an uninterrupted run would."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def latest_checkpoint(directory: Path, job_fingerprint: str):
    """(model path, state) of the newest usable checkpoint, or None."""
    for state_path in sorted(directory.glob("epoch-*.json"), reverse=True):
        try:
            state = json.loads(state_path.read_text())
        except (OSError, ValueError):
            continue
        model_path = state_path.with_suffix(".keras")
        if state.get("fingerprint") == job_fingerprint and model_path.is_file():
            return model_path, state
        log.warning("ignoring checkpoint %s: made by a different job", state_path)
    return None


def train(
    *,
    arch: dict[str, Any],
    training: dict[str, Any],
    seed: int,
    train_xy: tuple[np.ndarray, np.ndarray],
    validation_xy: tuple[np.ndarray, np.ndarray],
    checkpoint_dir: str | Path,
    num_classes: int,
    numerics: dict[str, Any],
    execution: dict[str, Any],
    progress=None,
    label: str = "",
    tensorboard_dir: str | Path | None = None,
    verbose: int = 2,
) -> dict[str, Any]:
    """Train one variant with one seed; return the model, history and facts.

    Deterministic by itself: it seeds Keras (Python, NumPy, TensorFlow) from ``seed``
    and turns on TensorFlow's op determinism. ``numerics`` and ``execution`` are the
    config's sections of those names (their defaults: the schema's). ``execution``
    changes speed and memory only, so it is not part of the job's fingerprint: a checkpoint made under other
    execution settings is resumed.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    (x_tr, y_tr), (x_va, y_va) = train_xy, validation_xy
    epochs, batch_size = training["epochs"], training["batch_size"]
    steps = math.ceil(len(x_tr) / batch_size)
    group = steps_per_execution(steps, execution["steps_per_execution"])
    image_shape = tuple(x_tr.shape[1:])
    checkpoint_dir = Path(checkpoint_dir)
    job = {
        "arch": arch,
        "training": training,
        "seed": seed,
        "train": hashlib.sha256(x_tr.tobytes() + y_tr.tobytes()).hexdigest(),
        "validation": hashlib.sha256(x_va.tobytes() + y_va.tobytes()).hexdigest(),
        # Epochs resumed under other numerics would mix two sets of sums.
        "numerics": numerics,
    }
    job_fingerprint = fingerprint(job)

    history: list[dict] = []
    resumed = latest_checkpoint(checkpoint_dir, job_fingerprint)
    if resumed is not None:
        model_path, state = resumed
        history = state["history"]
        log.info("resuming from %s after epoch %d", model_path, len(history))
        model = models.read_model(model_path)
        for variable, value in zip(
            random_state_variables(model), state.get("random_states", []), strict=True
        ):
            variable.assign(value)
    else:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        exact = numerics.get("exact_reciprocals", True)
        model = models.build_model(arch, image_shape, num_classes, exact_reciprocals=exact)
        # A resumed model keeps its compiled settings (the same job, so the same group).
        models.compile_model(
            model, training, arch["loss_on"], steps_per_execution=group, exact_reciprocals=exact
        )
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    first_epoch = len(history)

    started, started_at = time.perf_counter(), time.time()
    if first_epoch < epochs:
        model.fit(
            training_batches(x_tr, y_tr, batch_size, seed, first_epoch, epochs),
            epochs=epochs,
            initial_epoch=first_epoch,
            steps_per_epoch=steps,
            validation_data=evaluation_batches(x_va, y_va, execution["eval_batch_size"]),
            callbacks=[
                epoch_checkpoint_callback(
                    checkpoint_dir, job_fingerprint, history, epochs, progress, label
                ),
                stop_when_snakemake_is_gone(),
                *([keras.callbacks.TensorBoard(str(tensorboard_dir))] if tensorboard_dir else []),
            ],
            shuffle=False,  # the batches are already shuffled, by (seed, epoch)
            verbose=verbose,
        )
    seconds = time.perf_counter() - started
    trained_epochs = epochs - first_epoch
    return {
        "model": model,
        "history": history,
        "facts": {
            "seed": seed,
            "epochs": epochs,
            "steps_per_epoch": steps,
            "steps_per_execution": group,
            "train_images": int(len(x_tr)),
            "validation_images": int(len(x_va)),
            "resumed_after_epoch": first_epoch,
            "train_seconds_this_run": seconds,
            # Wall-clock span of this run's fit (Unix time), to see which jobs overlapped.
            "fit_started_at": started_at,
            "fit_finished_at": time.time(),
            "images_per_second": (trained_epochs * len(x_tr) / seconds) if trained_epochs else None,
            "weights_sha256": weights_sha256(model),
            "environment": devices.environment(numerics),
        },
    }


def history_csv(history: list[dict]) -> str:
    """Per-epoch rows as CSV, Keras's columns first in their usual order."""
    import pandas as pd

    frame = pd.DataFrame(history)
    columns = [c for c in HISTORY_COLUMNS if c in frame]
    return frame[columns + [c for c in frame if c not in HISTORY_COLUMNS]].to_csv(index=False)


def write_outputs(
    result: dict[str, Any], model_path, history_path, layers_path, facts_path
) -> None:
    table = models.layer_table(result["model"])
    with atomic.atomic_path(model_path, suffix=".keras") as tmp:
        result["model"].save(tmp)
    atomic.write_text(history_path, history_csv(result["history"]))
    atomic.write_json(layers_path, table)
    facts = dict(
        result["facts"],
        total_params=table["total_params"],
        non_trainable_params=table["non_trainable_params"],
    )
    atomic.write_json(facts_path, facts)
