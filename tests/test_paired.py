"""The statistics behind the verdicts, against scipy.stats and simulation."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from ablation import paired

# Paired differences of test accuracy over seeds, of the size a study sees.
DIFFS = [0.0012, -0.0004, 0.0021, 0.0009]
MARGIN = 0.002


def test_t_interval_is_scipys():
    d = np.array(DIFFS)
    low, high = paired.t_interval(DIFFS, 0.95)
    expected = sps.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=sps.sem(d))
    assert (low, high) == pytest.approx(expected, rel=1e-10)


def test_p_difference_is_the_paired_t_test():
    a = np.array([0.991, 0.989, 0.992, 0.990])
    b = a - np.array(DIFFS)
    assert paired.p_difference(DIFFS) == pytest.approx(sps.ttest_rel(a, b).pvalue, rel=1e-9)


@pytest.mark.parametrize("diffs", [DIFFS, [0.0001, 0.0003, -0.0002], [0.004, 0.0035, 0.005]])
def test_tost_is_two_one_sided_tests_and_matches_the_90_interval(diffs):
    lower = sps.ttest_1samp(diffs, -MARGIN, alternative="greater").pvalue
    upper = sps.ttest_1samp(diffs, MARGIN, alternative="less").pvalue
    p = paired.p_equivalence(diffs, MARGIN)
    assert p == pytest.approx(max(lower, upper), rel=1e-9)
    low, high = paired.t_interval(diffs, 0.90)
    assert (p < 0.05) == (-MARGIN < low and high < MARGIN)


@pytest.mark.parametrize("diffs", [DIFFS, [0.004, 0.0035, 0.005], [-0.006, -0.0045, -0.005]])
def test_beyond_margin_is_the_95_interval_wholly_outside(diffs):
    above = sps.ttest_1samp(diffs, MARGIN, alternative="greater").pvalue
    below = sps.ttest_1samp(diffs, -MARGIN, alternative="less").pvalue
    p = paired.p_beyond_margin(diffs, MARGIN)
    assert p == pytest.approx(min(1, 2 * min(above, below)), rel=1e-9)
    low, high = paired.t_interval(diffs, 0.95)
    assert (p < 0.05) == (low > MARGIN or high < -MARGIN)


def test_prediction_interval_covers_one_new_run_95_percent_of_the_time():
    d = np.array(DIFFS)
    low, high = paired.prediction_interval(DIFFS, 0.95)
    scale = d.std(ddof=1) * math.sqrt(1 + 1 / len(d))
    assert (low, high) == pytest.approx(
        sps.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=scale), rel=1e-10
    )
    # Simulated: three runs, then one more, from the same normal distribution.
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(20000, 4))
    hits = 0
    for row in draws:
        lo, hi = paired.prediction_interval(row[:3], 0.95)
        hits += lo <= row[3] <= hi
    assert hits / len(draws) == pytest.approx(0.95, abs=0.01)


def test_power_is_the_noncentral_t_and_matches_simulation():
    sd, n, alpha = 1.0, 3, 0.05
    delta = paired.detectable_difference(sd, n, alpha, 0.8)
    crit = sps.t.ppf(1 - alpha / 2, n - 1)
    nc = delta * math.sqrt(n) / sd
    exact = sps.nct.sf(crit, n - 1, nc) + sps.nct.cdf(-crit, n - 1, nc)
    assert exact == pytest.approx(0.8, abs=1e-6)
    assert paired.power_difference(delta, sd, n, alpha) == pytest.approx(exact, rel=1e-9)
    # Simulated paired studies with that true difference: about 80% find it.
    rng = np.random.default_rng(1)
    samples = rng.normal(delta, sd, size=(20000, n))
    found = np.mean([sps.ttest_1samp(row, 0).pvalue < alpha for row in samples])
    assert found == pytest.approx(0.8, abs=0.015)


def test_tost_power_is_a_lower_bound_of_simulated_power():
    sd, n, alpha, true = 0.001, 6, 0.05, 0.0005
    bound = paired.power_equivalence(true, MARGIN, sd, n, alpha)
    rng = np.random.default_rng(2)
    samples = rng.normal(true, sd, size=(20000, n))
    shown = np.mean([paired.p_equivalence(row, MARGIN) < alpha for row in samples])
    assert 0.3 < bound <= shown + 0.01


def test_seeds_needed_is_the_first_count_with_enough_power():
    sd, alpha, delta = 0.0015, 0.05, 0.0011  # the original's BatchNorm gain
    n = paired.seeds_needed(lambda k: paired.power_difference(delta, sd, k, alpha), 0.8)
    assert paired.power_difference(delta, sd, n, alpha) >= 0.8
    assert paired.power_difference(delta, sd, n - 1, alpha) < 0.8
    assert paired.seeds_needed(lambda k: 0.0, 0.8) is None


def test_holm_steps_down():
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, kept non-decreasing.
    assert paired.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert paired.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize("diffs", [DIFFS, [0.004, 0.0035, 0.005]])
def test_one_sided_test_against_a_bound_is_scipys_and_the_90_intervals_upper_end(diffs):
    p = paired.p_below(diffs, MARGIN)
    expected = sps.ttest_1samp(diffs, MARGIN, alternative="less").pvalue
    assert p == pytest.approx(expected, rel=1e-9)
    assert (p < 0.05) == (paired.t_interval(diffs, 0.90)[1] < MARGIN)


def test_no_spread_gives_no_p_value_at_all():
    # Every seed the same difference: no noise estimate. Neither p = 0 (certain)
    # nor p = 1 (nothing there): no test.
    same = [0.0005, 0.0005, 0.0005]
    for p in (
        paired.p_difference(same),
        paired.p_equivalence(same, MARGIN),
        paired.p_below(same, MARGIN),
        paired.p_beyond_margin(same, MARGIN),
    ):
        assert math.isnan(p)
    assert not paired.has_spread(same)
    assert not paired.has_spread([1.0, 1.0 + 1e-9], resolution=1e-8)
    assert paired.has_spread(DIFFS)
