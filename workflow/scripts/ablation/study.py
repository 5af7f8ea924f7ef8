"""The study as the workflow runs it, built once from the validated config (defaults
filled in by the schema): its dataset, variants with their full architectures, seeds,
image counts, folder and the command that builds it. The rules read it
(workflow/rules/common.smk) and hand its values to the scripts as params; nothing
below is derived anywhere else.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from . import sequential
from .dataset_checks import DatasetSpec
from .datasets import dataset_spec
from .models import ARCHITECTURE_KEYS, job_architecture
from .splits import image_counts


def study_folder(name: str | None) -> str:
    """Where a study's files go: results/ and report.md for the default study,
    studies/NAME/results/ and studies/NAME/report.md for a named one, so studies
    sit side by side (the datasets in resources/ are shared)."""
    return f"studies/{name}/" if name else ""


@dataclass(frozen=True)
class Study:
    name: str | None
    dataset: DatasetSpec
    variants: dict[str, dict[str, Any]]  # name -> architecture, every key filled in
    # name -> the variant it is an ablation of (`base:`), and its training settings
    # (the study's, with its own `training:` over them).
    bases: dict[str, str | None]
    trainings: dict[str, dict[str, Any]]
    comparisons: list[dict[str, Any]]
    # An integer N is seeds 1..N (`--config seeds=5` adds seeds 4 and 5 to three
    # trained, which are kept); a list is itself. Sequential: every seed a look may
    # ask for, 1..cap.
    seeds: list[int]
    design: sequential.Design | None  # `seeds: auto`: the pre-registered looks
    training: dict[str, Any]
    images: dict[str, int]  # train, validation and test images, as the split makes them
    config_sha256: str
    # The config's other sections, as validated: the rules read them here, never
    # from the config (one reader).
    split: dict[str, Any]
    numerics: dict[str, Any]  # threads and oneDNN's cap: part of a training's identity
    statistics: dict[str, Any]  # alpha, power, margins
    plots: dict[str, Any]
    sequential_settings: dict[str, Any]  # `sequential:`, used where seeds are auto
    description: str | None
    local_sha256: str | None  # of data.local_path, where given

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Study":
        """The study of a config that config.checked passed: derived only, in one
        pass (nothing here can find it wrong)."""
        dataset = dataset_spec(config["data"]["name"])
        design = None
        if config["seeds"] == "auto":
            design = sequential.Design.from_config(
                config["sequential"], config["statistics"]["alpha"]
            )
            seeds = list(range(1, design.cap + 1))
        elif isinstance(config["seeds"], int):
            seeds = list(range(1, config["seeds"] + 1))
        else:
            seeds = list(config["seeds"])
        split = config["split"]
        return cls(
            name=config["study"],
            dataset=dataset,
            variants={
                name: {key: variant[key] for key in ARCHITECTURE_KEYS}
                for name, variant in config["variants"].items()
            },
            bases={name: variant.get("base") for name, variant in config["variants"].items()},
            trainings={
                name: {**config["training"], **variant.get("training", {})}
                for name, variant in config["variants"].items()
            },
            comparisons=list(config["comparisons"]),
            seeds=seeds,
            design=design,
            training=dict(config["training"]),
            images=image_counts(
                dataset.n_train,
                dataset.n_test,
                split["validation_fraction"],
                split["train_limit"],
                split["test_limit"],
            ),
            config_sha256=config_sha256(config),
            split=dict(split),
            numerics=dict(config["numerics"]),
            statistics=dict(config["statistics"]),
            plots=dict(config["plots"]),
            sequential_settings=dict(config["sequential"]),
            description=config["description"],
            local_sha256=config["data"]["local_sha256"],
        )

    @property
    def margin(self) -> float:
        """The test-accuracy margin: the sequential design decides on it."""
        return self.statistics["margins"][sequential.PRIMARY]["margin"]

    def job_architecture(self, variant: str) -> dict[str, Any]:
        """What a training of ``variant`` is given (models.job_architecture)."""
        return job_architecture(self.variants[variant])

    def changes(self, variant: str) -> dict[str, Any]:
        """What makes ``variant`` other than its base: the keys whose values differ,
        training settings included (as "training.KEY")."""
        base = self.bases[variant]
        if base is None:
            return {}
        mine, theirs = self._settings(variant), self._settings(base)
        return {k: v for k, v in mine.items() if theirs.get(k) != v}

    def training_differences(self, variant: str, against: str) -> list[str]:
        """The training settings two variants differ in, in words."""
        a, b = self.trainings[variant], self.trainings[against]
        return [f"{k} {a[k]} vs {b[k]}" for k in a if a[k] != b[k]]

    def _settings(self, variant: str) -> dict[str, Any]:
        training = {f"training.{k}": v for k, v in self.trainings[variant].items()}
        return {**self.variants[variant], **training}

    @property
    def folder(self) -> str:
        return study_folder(self.name)

    @property
    def results(self) -> str:
        return f"{self.folder}results"

    @property
    def report(self) -> str:
        return f"{self.folder}report.md"

    @property
    def epochs(self) -> int:
        """The study's epochs (`training:`); a variant may set its own (trainings)."""
        return self.training["epochs"]

    @property
    def is_sequential(self) -> bool:
        """`seeds: auto`: seeds added in looks (``design``)."""
        return self.design is not None

    def command(
        self,
        given: Mapping[str, Any],
        configfiles: Sequence[str],
        options: Sequence[str] = ("--cores", "4"),
        **values: Any,
    ) -> str:
        """The command that builds this study, as typed in the project folder: how it
        runs (``options``: the README's --cores 4, or those typed), its report, then
        the --config values it was given (``given``, with ``values`` over them) and
        its --configfile files (both options take every word after them). Not
        `execution:` values: they change how it runs, not what it is (nor, so, the
        report that prints this)."""
        values = {**{k: v for k, v in given.items() if k != "execution"}, **values}
        words = [shlex.quote(f"{k}={config_word(v)}") for k, v in values.items()]
        files = [os.path.relpath(f) for f in configfiles]
        return " ".join(
            [
                "snakemake",
                *map(shlex.quote, options),
                self.report,
                *(["--config", *words] if words else []),
                *(["--configfile", *files] if files else []),
            ]
        )


def config_word(value) -> str:
    """A --config value as typed: scalars as they are, mappings and lists in YAML's
    flow style (`training={epochs: 2}`)."""
    import yaml

    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return str(value)


def config_sha256(config: Mapping[str, Any]) -> str:
    """A fingerprint of the study as validated (defaults filled in): of the data, its
    name (the registry holds its hashes), not where it was fetched from; no
    execution settings, nor the study's name."""
    study = {k: v for k, v in config.items() if k not in ("execution", "study")}
    study["data"] = config["data"]["name"]
    return hashlib.sha256(json.dumps(study, sort_keys=True).encode()).hexdigest()
