"""The sequential design: its boundaries against published values, and its error
rates and power by simulating thousands of sequential studies (statistics only, no
training)."""

import math

import numpy as np
import pytest

from ablation import looks, sequential, sequential_simulation, spending

ALPHA, MARGIN = 0.05, 0.002
# The spread of paired test-accuracy differences over seeds in the default studies
# (baseline 0.9898 +- 0.0033 against partners at +-0.0006-0.0012): about 0.3 pp.
SD = 0.003
STUDIES = 20000
# Three standard errors of a rate near alpha over STUDIES simulated studies.
MC = 3 * math.sqrt(ALPHA * (1 - ALPHA) / STUDIES)


@pytest.mark.parametrize(
    "looks, expected",
    [
        # gsDesign's sfLDOF / rpact's asOF, two-sided alpha 0.05, equally spaced looks.
        ((1, 2, 3, 4), (4.3326, 2.9631, 2.3590, 2.0141)),
        ((1, 2, 3, 4, 5), (4.8769, 3.3570, 2.6803, 2.2898, 2.0310)),
        ((3, 6, 9, 12), (4.3326, 2.9631, 2.3590, 2.0141)),  # only the fractions count
    ],
)
def test_boundaries_are_the_published_lan_demets_obrien_fleming_ones(looks, expected):
    assert spending.boundaries(looks, ALPHA) == pytest.approx(expected, abs=2e-4)


def test_boundaries_spend_alpha_as_stated_when_simulated_on_the_z_scale():
    looks = (3, 6, 9, 12)
    bounds = np.array(spending.boundaries(looks, ALPHA))
    rng = np.random.default_rng(11)
    steps = rng.normal(size=(400000, 12))
    z = np.cumsum(steps, axis=1)[:, [n - 1 for n in looks]] / np.sqrt(looks)
    crossed = np.abs(z) >= bounds
    first = np.where(crossed.any(axis=1), crossed.argmax(axis=1), -1)
    spent = [spending.obrien_fleming_spending(n / 12, ALPHA) for n in looks]
    for k in range(4):
        assert np.mean((first >= 0) & (first <= k)) == pytest.approx(spent[k], abs=1e-3)


def design(cap=12):
    return sequential.Design(looks=tuple(range(3, cap + 1, 3)), alpha=ALPHA, futility=0.1)


def test_no_true_difference_is_called_different_at_most_alpha():
    rates = sequential_simulation.simulate(
        design(), 0.0, SD, MARGIN, STUDIES, np.random.default_rng(1)
    )
    assert rates["different"] <= ALPHA + MC


def test_a_true_difference_of_the_margin_is_called_equivalent_at_most_alpha():
    for truth in (MARGIN, -MARGIN):
        rates = sequential_simulation.simulate(
            design(), truth, SD, MARGIN, STUDIES, np.random.default_rng(2)
        )
        assert rates["equivalent"] <= ALPHA + MC


def test_testing_at_the_nominal_level_at_every_look_would_not_hold_alpha():
    # The reason for the design: a plain t test at each of four looks.
    naive = sequential.Design(looks=(3, 6, 9, 12), alpha=ALPHA, futility=0.0)
    rng = np.random.default_rng(3)
    d = rng.normal(0, SD, size=(STUDIES, 12))
    from scipy import stats

    found = np.zeros(STUDIES, dtype=bool)
    for n in naive.looks:
        found |= stats.ttest_1samp(d[:, :n], 0, axis=1).pvalue < ALPHA
    assert found.mean() > ALPHA + 3 * MC  # about 0.10


def test_the_cap_planned_for_the_target_reaches_the_configured_power():
    power, target = 0.8, 0.003  # a difference of 0.3 pp against a spread of 0.3 pp
    caps = range(6, 61, 3)
    planned = next(
        c for c in caps
        if sequential_simulation.simulate(design(c), target, SD, MARGIN, 4000, np.random.default_rng(4))[
            "different"
        ] >= power
    )  # fmt: skip
    rates = sequential_simulation.simulate(
        design(planned), target, SD, MARGIN, STUDIES, np.random.default_rng(5)
    )
    assert rates["different"] >= power - MC
    fixed = sequential_simulation.fixed_seeds_for_power(target, SD, ALPHA, power)
    # Stopping early saves seeds on average against a fixed design of the same power.
    print(
        f"\ntarget {target}, sd {SD}: sequential cap {planned}, expected "
        f"{rates['expected_seeds']:.1f} seeds at the target; fixed design {fixed} seeds"
    )
    assert rates["expected_seeds"] < planned


def test_heavy_tails_rates_are_reported_as_found():
    table = sequential_simulation.operating_characteristics(
        design(), 0.003, SD, MARGIN, outlier_size=0.004
    )
    for case, rates in table.items():
        print(f"{case}: " + ", ".join(f"{k} {v:.4f}" for k, v in rates.items()))
    assert table["no difference, normal"]["different"] <= ALPHA + MC
    assert table["at the margin, normal"]["equivalent"] <= ALPHA + MC
    # With outliers the rates are what they are; the report prints them. They must be
    # computed (one in ten seeds moved by 0.4 pp moves them off the normal case).
    heavy = table["no difference, heavy-tailed"]
    assert heavy != table["no difference, normal"]
    assert 0 < heavy["different"] < 0.2


def run_sequence(diffs, d, margin):
    """The looks one comparison takes, as the workflow takes them, one by one."""
    taken = []
    for k, n in enumerate(d.looks):
        if len(diffs) < n:
            break
        taken.append(sequential.look(diffs, d, k, margin))
        if taken[-1].decision != "continue":
            break
    return taken


def test_a_look_decides_from_its_repeated_intervals():
    d = design()
    clear = [0.01, 0.011, 0.009, 0.0105, 0.0095, 0.01]
    assert sequential.look(clear, d, 0, MARGIN).decision == "continue"  # z 4.33 at n=3
    assert sequential.look(clear, d, 1, MARGIN).decision == "different"
    tiny = [0.0001, -0.0001, 0.0, 0.0001, -0.0001, 0.0]
    assert sequential.look(tiny, d, 1, MARGIN).decision == "equivalent"
    noisy = [0.0, 0.003, -0.003, 0.002, -0.002, 0.001, 0.0, 0.002, -0.002, 0.001, 0.0, -0.001]
    assert run_sequence(noisy, d, MARGIN)[-1].decision in ("futile", "not decided", "equivalent")


def test_no_spread_at_a_look_is_not_testable_at_the_cap_and_goes_on_before_it():
    """As in the fixed path: a constant difference is not an infinitely precise one."""
    d = design()
    same = [0.001] * 12
    assert [sequential.look(same, d, k, MARGIN).decision for k in range(4)] == [
        "continue", "continue", "continue", "not testable",
    ]  # fmt: skip
    decisions, seeds = sequential.decide_all(np.array([same]), d, MARGIN)
    assert (decisions[0], seeds[0]) == ("not testable", 12)


def test_the_simulated_design_is_the_rule_the_study_applies():
    # decide_all (vectorized, for simulations) and the looks one at a time (the
    # study's) must be one rule: same decision, same look, on the same differences.
    d = sequential.Design(looks=(3, 6, 9, 12), alpha=ALPHA, futility=0.1, min_sd=0.002)
    rng = np.random.default_rng(6)
    rows = np.concatenate(
        [rng.normal(truth, SD, size=(60, 12)) for truth in (0.0, MARGIN / 4, MARGIN, 0.004)]
    )
    decisions, seeds = sequential.decide_all(rows, d, MARGIN)
    for row, decision, n in zip(rows, decisions, seeds):
        last = run_sequence(row, d, MARGIN)[-1]
        assert (last.decision, last.n) == (decision, n)
    assert set(decisions) >= {"different", "equivalent", "futile", "not decided"}


def test_no_futility_stop_rests_on_fewer_than_five_degrees_of_freedom():
    d = design()
    rng = np.random.default_rng(8)
    decisions, seeds = sequential.decide_all(rng.normal(0, SD, size=(STUDIES, 12)), d, MARGIN)
    assert not np.any((decisions == "futile") & (seeds < sequential.MIN_FUTILITY_DF + 1))
    assert np.any((decisions == "futile") & (seeds == 6))  # from 5 degrees of freedom on


def default_design(**changes):
    from ablation.config import read_config
    from conftest import REPO

    config = read_config(REPO / "config.yaml")
    return sequential.Design.from_config({**config["sequential"], **changes}, ALPHA)


def test_every_row_of_the_design_table_holds_its_rate_skewed_spreads_included():
    """The issue's criterion: false "different" and false "equivalent" at most 0.055
    in every row, normal, heavy-tailed and skewed, at 100,000 simulated comparisons
    (the report's table, with the default design)."""
    table = sequential_simulation.operating_characteristics(
        default_design(), 0.003, SD, MARGIN, 0.004
    )
    assert {case.split(", ", 1)[1] for case in table} == {
        "normal", "heavy-tailed", "skewed", "skewed, wider",
    }  # fmt: skip
    for case, rates in table.items():
        print(f"{case}: different {rates['different']:.4f}, equivalent {rates['equivalent']:.4f}")
        if case.startswith("no difference"):
            assert rates["different"] <= 0.055, case
        if "the margin" in case:
            assert rates["equivalent"] <= 0.055, case
    # Power at the target, normal spread, at least the configured 80%.
    assert table["at the target, normal"]["different"] >= 0.8


def test_without_the_spread_floor_skewed_spreads_break_the_rates():
    """What min_sd is for: the plain paired t on skewed differences (a reference
    that fails on 30% of seeds) decides wrongly more often than stated."""
    table = sequential_simulation.operating_characteristics(
        default_design(min_sd=0.0), 0.003, SD, MARGIN, 0.004
    )
    assert table["no difference, skewed"]["different"] > 0.06
    assert table["at the margin, skewed"]["equivalent"] > 0.06
    assert table["at minus the margin, skewed"]["equivalent"] < 0.05  # the other side


def test_futility_is_non_binding_and_the_rates_hold_either_way():
    """The schema's words: never stopping for futility gives false "different" 0.046
    and false "equivalent" 0.042 (instead of 0.046 and 0.039), both under alpha."""
    for futility, equivalent in ((0.1, 0.039), (0.0, 0.042)):
        d = default_design(futility=futility)
        none = sequential_simulation.simulate(
            d, 0.0, SD, MARGIN, 100_000, np.random.default_rng(20260)
        )
        worse_side = max(
            sequential_simulation.simulate(d, m, SD, MARGIN, 100_000, np.random.default_rng(20260))[
                "equivalent"
            ]
            for m in (MARGIN, -MARGIN)
        )
        assert none["different"] == pytest.approx(0.046, abs=0.001)
        assert worse_side == pytest.approx(equivalent, abs=0.001)


def test_a_look_says_what_going_on_costs_and_when_the_cap_looks_hopeless():
    d = design()
    comparisons = [{"variant": "a", "against": "base"}, {"variant": "b", "against": "base"}]
    images = 10000
    base = {s: 9900 for s in range(1, 4)}
    # a: a wide, centred spread (no chance at the cap); b: the same.
    counts = {"base": base, "a": {1: 9860, 2: 9940, 3: 9900}, "b": {1: 9850, 2: 9950, 3: 9905}}
    weights = {v: {s: f"{v}{s}" for s in range(1, 4)} for v in counts}
    judged = looks.judge_look(d, 0, comparisons, [0, 1], counts, images, weights, MARGIN)
    assert judged["open"] == [0, 1]
    assert judged["trainings_to_cap"] == 3 * (12 - 3)  # a, b and the shared base
    assert [c["trainings_to_cap"] for c in judged["comparisons"]] == [18, 18]
    assert judged["hopeless"] and judged["best_chance"] < looks.HOPELESS_POWER
    # A tight spread leaves a chance: not hopeless.
    counts["a"] = {1: 9930, 2: 9931, 3: 9929}
    judged = looks.judge_look(d, 0, comparisons, [0, 1], counts, images, weights, MARGIN)
    assert not judged["hopeless"]


def test_a_look_refuses_to_decide_from_a_job_that_did_not_finish(tmp_path):
    """A decision reads only finished, accepted outputs: an evaluation or training
    whose status still reads "running" (interrupted) stops the look, naming it."""
    from ablation.errors import StudyError

    done, running = tmp_path / "done.status", tmp_path / "evaluate.status"
    done.write_text("done\n")
    running.write_text("running\n")
    looks.require_finished([done])
    with pytest.raises(StudyError, match="1 job.s. that did not finish .*evaluate.status"):
        looks.require_finished([done, running])
