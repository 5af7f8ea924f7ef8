"""A sequential design is locked once a look is taken: every key that decides is
refused when changed, in one line naming key, locked value and the ways out; an
amendment is recorded and its cost to the error rates simulated."""

import copy
import json

import pytest

from ablation import design_lock, sequential
from ablation.config import SCHEMA, ConfigError, read_config
from ablation.study import Study
from conftest import REPO

CONFIG = read_config(REPO / "config.yaml")
AMEND = "snakemake --cores 4 report.md --config seeds=auto 'sequential={amend: true}'"


def auto_config(**sequential_values):
    """The default study's config with `seeds: auto`, capped at 9 (as the measured run)."""
    config = copy.deepcopy(CONFIG)
    config["seeds"] = "auto"
    config["sequential"].update({"cap": 9, **sequential_values})
    return config


def auto(edit=None, **sequential_values):
    config = auto_config(**sequential_values)
    if edit:
        edit(config)
    return Study.from_config(config)


@pytest.fixture
def design_file(tmp_path):
    """The default design's file, as rule design writes it (the keys the lock reads)."""
    config = auto_config()
    design = sequential.Design.from_config(config["sequential"], config["statistics"]["alpha"])
    path = tmp_path / "design.json"
    margin = config["statistics"]["margins"]["test_accuracy"]["margin"]
    path.write_text(
        json.dumps({**design.as_dict(), "margin": margin, "planning": config["sequential"]})
    )
    return path


def test_before_the_first_look_the_design_is_free(design_file):
    assert design_lock.check(auto(cap=12), design_file, 0, AMEND) is None


def test_an_unchanged_design_needs_nothing(design_file):
    assert design_lock.check(auto(), design_file, 2, AMEND) is None
    # planning_sd, target and power only state what the design is expected to do.
    assert design_lock.check(auto(planning_sd=0.001, target=0.005), design_file, 2, AMEND) is None


@pytest.mark.parametrize(
    "edit, key, locked",
    [
        (lambda c: c["sequential"].update(cap=12), "sequential.cap", "9"),
        (lambda c: c["sequential"].update(first_look=3), "sequential.first_look", "6"),
        (lambda c: c["sequential"].update(seeds_per_look=2), "sequential.seeds_per_look", "3"),
        (lambda c: c["sequential"].update(futility=0), "sequential.futility", "0.1"),
        (lambda c: c["sequential"].update(min_sd=0), "sequential.min_sd", "0.002"),
        (lambda c: c["statistics"].update(alpha=0.1), "statistics.alpha", "0.05"),
        (
            lambda c: c["statistics"]["margins"]["test_accuracy"].update(margin=0.003),
            "statistics.margins.test_accuracy.margin",
            "0.002",
        ),
    ],
)
def test_a_changed_key_is_refused_in_one_line_with_the_ways_out(design_file, edit, key, locked):
    with pytest.raises(ConfigError) as refused:
        design_lock.check(auto(edit), design_file, 1, AMEND)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"config: {key}: ")
    assert f"changes the sequential design locked at {locked} by look 1 ({design_file})" in message
    assert "--config study=NAME" in message and message.endswith(AMEND)


def test_an_amendment_keeps_the_first_design_and_stays_the_same_when_read_again(design_file):
    first_hash = design_lock.file_sha256(design_file)
    amendment = design_lock.check(auto(cap=12, amend=True), design_file, 3, AMEND)
    assert amendment == {
        "after_look": 3,
        "first_design_sha256": first_hash,
        "locked": {
            "first_look": 6, "seeds_per_look": 3, "cap": 9, "futility": 0.1,
            "min_sd": 0.002, "alpha": 0.05, "margin": 0.002,
        },
        "changes": {"cap": [9, 12]},
    }  # fmt: skip
    # The design job writes it, with its simulated rates; read back, the same.
    written = json.loads(design_file.read_text())
    design_file.write_text(json.dumps({**written, "amendment": {**amendment, "simulated": {}}}))
    assert design_lock.check(auto(cap=12, amend=True), design_file, 4, AMEND) == amendment
    # Dropping `amend` later is refused again, against the first design.
    with pytest.raises(ConfigError, match="sequential.cap: 12 changes .* locked at 9"):
        design_lock.check(auto(cap=12), design_file, 4, AMEND)


def test_raising_the_cap_after_not_decided_costs_the_error_rate_it_claims():
    """9 -> 12 after "not decided" takes the default design's false "different" past
    alpha (0.061, 100,000 simulated studies; 0.070 with looks from 3 seeds and no
    spread floor, as the issue measured)."""
    before = sequential.Design.from_config(auto_config()["sequential"], 0.05)
    after = sequential.Design.from_config(auto_config(cap=12)["sequential"], 0.05)
    rates = design_lock.simulate_amendment(before, after, 0.003, 0.002)
    assert 0.055 < rates["different_under_no_difference"] < 0.07
    # Unchanged, the same procedure is the design itself: within its alpha.
    same = design_lock.simulate_amendment(before, before, 0.003, 0.002)
    assert same["different_under_no_difference"] < 0.055


def test_the_schema_documents_amend():
    assert "amend:" in SCHEMA.read_text()
