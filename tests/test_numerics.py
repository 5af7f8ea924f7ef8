"""A study's numerics: part of the study, the same wherever it runs, recorded per
run, said in the report when its seeds differ in them, and the weights each CPU
kind trains kept in benchmarks/cpu_numerics.csv."""

import csv
import json

import pytest

from ablation import devices, report_provenance
from ablation.devices import cpu_model
from conftest import REPO, check, snakemake

RECORD = REPO / "benchmarks" / "cpu_numerics.csv"
AVX2_FLAGS = "flags\t\t: fpu sse sse2 sse4_1 sse4_2 avx avx2 fma\n"
AVX512_FLAGS = AVX2_FLAGS.rstrip() + " avx512f avx512dq avx512bw avx512vl\n"


def test_the_instruction_set_onednn_runs_is_the_cpus_or_the_cap_below_it():
    assert devices.cpu_isa(AVX2_FLAGS) == "AVX2"
    assert devices.cpu_isa(AVX512_FLAGS) == "AVX512_CORE"
    capped = devices.numerics_used({"threads": 1, "onednn_max_cpu_isa": "AVX2"}, AVX512_FLAGS)
    assert capped["cpu_isa"] == "AVX2"
    # A cap above the CPU's own set changes nothing.
    above = devices.numerics_used({"threads": 1, "onednn_max_cpu_isa": "AVX512_CORE"}, AVX2_FLAGS)
    assert above["cpu_isa"] == "AVX2"


def environment(threads=1, isa="AVX512_CORE", cpu="Intel Xeon"):
    return {"tensorflow": "2.21.0", "cpu": cpu, "gpus": [],
            "numerics": {"threads": threads, "onednn_max_cpu_isa": None, "cpu_isa": isa}}  # fmt: skip


def test_runs_are_grouped_by_what_decided_their_weights():
    run = lambda seed, env: {"facts": {"seed": seed, "environment": env}}  # noqa: E731
    runs = {
        "baseline": [run(1, environment()), run(2, environment()), run(3, environment(isa="AVX2"))],
        "with_bn": [run(1, environment()), run(2, environment(threads=2))],
    }
    groups = report_provenance.numerics_groups(runs)
    assert [g["count"] for g in groups] == [3, 1, 1]
    assert groups[0]["runs"] == {"baseline": [1, 2], "with_bn": [1]}
    assert "1 thread, oneDNN at AVX512_CORE" in groups[0]["numerics"]
    words = {g["numerics"] for g in groups[1:]}
    assert any("oneDNN at AVX2" in w for w in words) and any("2 threads" in w for w in words)


def same_kind(recorded_cpu):
    """A row of this CPU kind: its name, and its family and model where the row has
    them (rows recorded before cpu_model() gave them have the name alone)."""
    here = cpu_model()
    return recorded_cpu == here or (
        "(family" not in recorded_cpu and here.startswith(f"{recorded_cpu} (")
    )


def recorded(setting, facts):
    """The tiny study's weights recorded for this CPU kind and TensorFlow, by variant."""
    with RECORD.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f)
                if same_kind(r["cpu"]) and r["cpu_isa"] == devices.cpu_isa()
                and r["tensorflow"] == facts["environment"]["tensorflow"]
                and r["setting"] == setting]  # fmt: skip
    if not rows:
        pytest.skip(
            f"no weights recorded for {cpu_model()} ({devices.cpu_isa()}): "
            "record them with .venv/bin/python benchmarks/cpu_numerics.py --record"
        )
    return {r["variant"]: r["tiny_weights_sha256"] for r in rows}


def training_facts(project, variant):
    return json.loads((project / "results" / variant / "seed1" / "training.json").read_text())


@pytest.mark.workflow
def test_the_tiny_study_trains_the_weights_recorded_for_this_cpu_kind(tiny_study):
    for variant in ("baseline", "with_bn"):
        facts = training_facts(tiny_study, variant)
        assert facts["environment"]["numerics"]["cpu_isa"] in ("AVX2", None)
        assert facts["weights_sha256"] == recorded("avx2", facts)[variant], variant


@pytest.mark.workflow
def test_uncapped_onednn_trains_this_cpus_own_weights(study_copy):
    """The setting reaches oneDNN from inside the workflow (set before TensorFlow
    starts): the weights are those benchmarks/cpu_numerics.py recorded without
    ONEDNN_MAX_CPU_ISA in the environment of a fresh process."""
    model = "results/baseline/seed1/model.keras"
    check(snakemake(study_copy, model, "--config", "numerics={onednn_max_cpu_isa: null}"))
    facts = training_facts(study_copy, "baseline")
    assert facts["environment"]["numerics"]["onednn_max_cpu_isa"] is None
    assert facts["environment"]["numerics"]["cpu_isa"] == devices.cpu_isa()
    assert facts["weights_sha256"] == recorded("uncapped", facts)["baseline"]


@pytest.mark.xfail(
    strict=True,
    reason="issue 35: under the default numerics with_bn and sigmoid_output train other "
    "weights on the Intel Xeon than on AMD EPYC Zen 4 and Zen 5, which agree with each "
    "other; baseline agrees on all three (benchmarks/cpu_numerics.csv)",
)
def test_every_cpu_kind_recorded_trains_the_same_weights_under_the_default_cap():
    """The claim of the default `numerics:` across CPU kinds: each session on a new
    kind records its row (benchmarks/cpu_numerics.py --record); a kind whose AVX2
    weights differ from another's fails here."""
    with RECORD.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["setting"] == "avx2"]
    by_variant = {}
    for r in rows:
        by_variant.setdefault((r["tensorflow"], r["variant"]), {})[r["cpu"]] = r[
            "tiny_weights_sha256"
        ]
    assert by_variant
    for key, by_cpu in by_variant.items():
        assert len(set(by_cpu.values())) == 1, (key, by_cpu)


@pytest.mark.workflow
def test_the_thread_count_is_the_studys_not_the_jobs(study_copy):
    plan = check(snakemake(study_copy, "-n", "report.md", "--config", "numerics={threads: 2}"))
    for variant in ("baseline", "with_bn"):
        assert f"Training {variant} with seed 1" in plan.stdout, plan.stdout
    # More cores for a job (a cluster's CPUs, --set-threads) retrain nothing.
    same = check(snakemake(study_copy, "-n", "report.md", "--set-threads", "train=2"))
    assert "Nothing to be done" in same.stdout, same.stdout
    assert training_facts(study_copy, "baseline")["environment"]["intra_op_threads"] == 1


@pytest.mark.workflow
def test_a_study_trained_under_two_numerics_says_so(study_copy):
    # with_bn's seed 1 as if trained on another machine and copied back.
    path = study_copy / "results" / "with_bn" / "seed1" / "training.json"
    facts = json.loads(path.read_text())
    facts["environment"]["numerics"]["cpu_isa"] = "AVX512_CORE"
    path.write_text(json.dumps(facts))
    check(snakemake(study_copy, "report.md"))
    report = (study_copy / "report.md").read_text()
    assert "**Seeds trained under 2 different numerics**" in report
    assert "oneDNN at AVX512_CORE: with_bn seed 1" in report
