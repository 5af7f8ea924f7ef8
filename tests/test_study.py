"""The study described once (ablation/study.py): what the rules, scripts and report
read, built from the validated config."""

import copy

import pytest
import yaml
from snakemake.utils import validate

from ablation import config as config_checks
from ablation import dataset_checks, datasets, splits
from ablation.study import Study, study_folder
from conftest import REPO


def validated(**changes):
    """config.yaml with ``changes`` over it, validated as the Snakefile does."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config = copy.deepcopy(config) | changes
    config_checks.resolve_bases(config)
    validate(config, str(config_checks.SCHEMA))
    return config


def test_the_default_study_read_alone_is_the_validated_config_yaml():
    assert config_checks.read_config(REPO / "config.yaml") == validated()


def test_seeds_are_numbered_from_one_or_listed_or_reach_the_cap():
    assert Study.from_config(validated(seeds=3)).seeds == [1, 2, 3]
    assert Study.from_config(validated(seeds=[4, 9])).seeds == [4, 9]
    auto = Study.from_config(validated(seeds="auto"))
    assert auto.is_sequential and auto.seeds == list(range(1, auto.design.cap + 1))


def test_variants_carry_every_architecture_key():
    study = Study.from_config(validated())
    assert list(study.variants)[:4] == ["baseline", "with_bn", "shallower", "deeper"]
    assert study.variants["baseline"]["kernel_size"] == 3  # a schema default, filled in
    assert study.variants["with_bn"]["batch_norm"] is True


@pytest.mark.parametrize(
    "split",
    [
        {"validation_fraction": 0.1, "train_limit": None, "test_limit": None},
        {"validation_fraction": 0.1, "train_limit": 600, "test_limit": 200},
        {"validation_fraction": 0.37, "train_limit": 1001, "test_limit": None},
    ],
)
def test_image_counts_are_what_the_split_makes(mnist_npz, split):
    study = Study.from_config(validated(split=split))
    arrays = dataset_checks.load_dataset(mnist_npz, datasets.MNIST)
    parts = splits.split(
        arrays, split["validation_fraction"], split["train_limit"], split["test_limit"]
    )
    assert study.images == {part: len(x) for part, (x, _) in parts.items()}


def test_folder_report_and_command_of_a_named_study():
    study = Study.from_config(validated(study="qa"))
    assert (study.results, study.report) == ("studies/qa/results", "studies/qa/report.md")
    assert study_folder(None) == "" and Study.from_config(validated()).report == "report.md"
    command = study.command(
        {"study": "qa", "training": {"epochs": 2}, "execution": {"tensorboard": True}},
        ["extra.yaml"],
        seeds="auto",
    )
    assert command == (
        "snakemake --cores 4 studies/qa/report.md --config study=qa "
        "'training={epochs: 2}' seeds=auto --configfile extra.yaml"
    )


def test_the_fingerprint_is_of_what_the_study_is():
    base = Study.from_config(validated()).config_sha256
    # Not where the data comes from, how jobs run, or what the study is called.
    for change in (
        {"data": {"name": "mnist", "mirror": "http://example.org/mnist.npz"}},
        {"execution": {"steps_per_execution": 2}},
        {"study": "elsewhere"},
    ):
        assert Study.from_config(validated(**change)).config_sha256 == base, change
    assert Study.from_config(validated(seeds=5)).config_sha256 != base
