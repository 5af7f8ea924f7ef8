"""A sequential design is pre-registered: once its first look has been taken, the
keys that decide (looks, cap, futility, min_sd, alpha, margin) are locked. A change is
refused before any job, unless the study says it amends its design
(`sequential: {amend: true}`); then the design file keeps the first design's
SHA-256 and what changed after which look, and the report says which error rates
no longer hold.

Why: changing the design after seeing the data is a second chance to decide. Run
again with a cap of 12 after "not decided" at 9, the default design's false
"different" rate rises from under 0.05 to 0.061 (simulated, ``simulate_amendment``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from . import sequential, sequential_simulation
from .config import ConfigError

# Each locked key, and where the config holds it.
LOCKED = {
    "first_look": "sequential.first_look",
    "seeds_per_look": "sequential.seeds_per_look",
    "cap": "sequential.cap",
    "futility": "sequential.futility",
    "min_sd": "sequential.min_sd",
    "alpha": "statistics.alpha",
    "margin": f"statistics.margins.{sequential.PRIMARY}.margin",
}


def _locked(settings: Mapping[str, Any], alpha: float, margin: float) -> dict[str, Any]:
    # A design file written before min_sd existed decided without a floor.
    values = {**settings, "alpha": alpha, "margin": margin}
    return {key: values.get(key, 0.0) for key in LOCKED}


def locked_values(study) -> dict[str, Any]:
    """The locked keys' values of a study (ablation/study.py)."""
    return _locked(study.sequential_settings, study.statistics["alpha"], study.margin)


def written_values(design: Mapping[str, Any]) -> dict[str, Any]:
    """The locked keys' values in a design file (its `sequential:` settings as
    planned, its alpha and margin)."""
    return _locked(design["planning"], design["alpha"], design["margin"])


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check(
    study,
    design_file: str | Path,
    looks_taken: int,
    amend_command: str | Callable[[], str],
) -> dict[str, Any] | None:
    """The amendment a design file records, given the study and the looks
    already on disk: None while no look has been taken (the design is still free)
    or nothing locked changed; the first design's hash, the look after which it
    changed and the changes, where `sequential.amend` accepts them. Raises
    ConfigError, in one line naming the key, its locked value and the ways out
    (``amend_command``: the command that accepts the change, or the function that
    makes it, called only then), for a change not accepted."""
    path = Path(design_file)
    if not looks_taken or not path.exists():
        return None
    written = json.loads(path.read_text(encoding="utf-8"))
    # An amended design keeps its first design as the one locked.
    first = written.get("amendment")
    locked = first["locked"] if first else written_values(written)
    wanted = locked_values(study)
    changed = {k: [locked[k], wanted[k]] for k in LOCKED if locked[k] != wanted[k]}
    if not changed:
        return None
    if not study.sequential_settings.get("amend"):
        key = next(iter(changed))
        name = LOCKED[key]
        raise ConfigError(
            f"config: {name}: {wanted[key]!r} changes the sequential design locked at "
            f"{locked[key]!r} by look 1 ({path}): a design is fixed once its first look is "
            f"taken. Keep {locked[key]!r}; or run the new design as a study of its own "
            f"(config/NAME.yaml, --config study=NAME); or amend this one, its report then "
            "saying which error rates no longer hold: "
            + (amend_command() if callable(amend_command) else amend_command)
        )
    if first:  # as first recorded (not what the design job added to it)
        return {key: first[key] for key in ("after_look", "first_design_sha256", "locked")} | {
            "changes": changed
        }
    return {
        "after_look": looks_taken,
        "first_design_sha256": file_sha256(path),
        "locked": locked,
        "changes": changed,
    }


def simulate_amendment(
    before: sequential.Design,
    after: sequential.Design,
    sd: float,
    margin: float,
    studies: int = sequential_simulation.PLANNING_STUDIES,
) -> dict[str, float]:
    """The error rates of running ``before`` to its end and, where it decided
    nothing (not decided or futile), running ``after`` on the same seeds and more,
    as a user who raises the cap after "not decided" does: false *different* under
    no difference, false *equivalent* at the margin (normal paired differences of
    sd ``sd``; the same random stream every time)."""
    out = {}
    for name, truth, error in (
        ("different_under_no_difference", 0.0, "different"),
        ("equivalent_at_the_margin", margin, "equivalent"),
    ):
        rng = np.random.default_rng(20262)
        d = rng.normal(truth, sd, size=(studies, max(before.cap, after.cap)))
        first, _ = sequential.decide_all(d[:, : before.cap], before, margin)
        second, _ = sequential.decide_all(d[:, : after.cap], after, margin)
        undecided = np.isin(first, ["not decided", "futile"])
        final = np.where(undecided, second, first)
        out[name] = float(np.mean(final == error))
    return out
