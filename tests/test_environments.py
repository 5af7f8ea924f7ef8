"""Software environments: the conda env files pin what the pip requirements pin."""

import re

import pytest
import yaml

from conftest import REPO

PIN = re.compile(r"^([A-Za-z0-9_.\-]+(?:\[[a-z\-,]+\])?)==([^\s;]+)$")


def requirement_pins(path):
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            pins.update(requirement_pins(path.parent / line[3:].strip()))
        elif line:
            match = PIN.match(line)
            assert match, f"{path.name}: not pinned with ==: {line}"
            pins[match[1].lower()] = match[2]
    return pins


def env_pins(path):
    spec = yaml.safe_load(path.read_text())
    pip = [d for d in spec["dependencies"] if isinstance(d, dict)][0]["pip"]
    return {PIN.match(p)[1].lower(): PIN.match(p)[2] for p in pip}


ENVS = sorted((REPO / "envs").glob("*.yaml"))


@pytest.mark.parametrize("env", ENVS, ids=[e.stem for e in ENVS])
def test_env_file_pins_match_the_requirements(env):
    required = requirement_pins(REPO / "requirements" / "gpu.txt")
    pins = env_pins(env)
    assert pins
    assert {name: version for name, version in pins.items() if required.get(name) != version} == {}


def test_cpu_and_gpu_requirements_pin_the_same_tensorflow():
    cpu = requirement_pins(REPO / "requirements" / "cpu.txt")
    gpu = requirement_pins(REPO / "requirements" / "gpu.txt")
    assert cpu["tensorflow-cpu"] == gpu["tensorflow[and-cuda]"]
    assert {k: v for k, v in cpu.items() if k != "tensorflow-cpu"} == {
        k: v for k, v in gpu.items() if k != "tensorflow[and-cuda]"
    }


def test_every_rule_that_runs_code_declares_an_environment():
    text = "\n".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    rules = re.split(r"^rule ", text, flags=re.M)[1:]
    assert rules
    for rule in rules:
        if "script:" in rule or "shell:" in rule:
            assert "conda:" in rule, rule.splitlines()[0]
