"""Verdicts on comparisons and on the original's claims: every outcome reachable."""

import pandas as pd
import pytest
import yaml

from ablation import claims, judging, metric_comparison
from ablation.metrics import METRICS
from conftest import REPO

SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
MARGINS = SCHEMA["properties"]["statistics"]["properties"]["margins"]["properties"]
SETTINGS = metric_comparison.Settings(
    alpha=0.05, power=0.8, margins={m: spec["default"]["margin"] for m, spec in MARGINS.items()}
)


def study(a_acc, b_acc, *, weights=None, params=(100, 100), flatten=(576, 576)):
    """Variants a and b over seeds 1..n: test accuracy as given, the other metrics
    moving with it (loss = 1 - accuracy, so lower loss goes with higher accuracy)."""
    rows = []
    for name, values, p, f in (
        ("a", a_acc, params[0], flatten[0]),
        ("b", b_acc, params[1], flatten[1]),
    ):
        for seed, acc in enumerate(values, start=1):
            rows.append(
                {
                    "variant": name,
                    "seed": seed,
                    **{f"{split}_accuracy": acc for split in ("train", "val", "test")},
                    **{f"{split}_loss": 1 - acc for split in ("train", "val", "test")},
                    # The tiny study's images: accuracies are whole counts of these.
                    "train_images": 54000,
                    "validation_images": 6000,
                    "test_images": 10000,
                    "total_params": p,
                    "flatten_width": f,
                    "weights_sha256": weights or f"{name}{seed}",
                }
            )
    return pd.DataFrame(rows)


# a beats b by about 0.5 pp on every seed; NOISY straddles zero widely;
# CLOSE differs by a few hundredths of a pp either way, well inside the 0.2 pp margin.
CLEAR = study([0.990, 0.991, 0.992], [0.985, 0.986, 0.9855])
NOISY = study([0.990, 0.984, 0.987], [0.986, 0.989, 0.985])
CLOSE = study([0.9900, 0.9911, 0.9895, 0.9907], [0.9902, 0.9906, 0.9897, 0.9903])
ONE_SEED = study([0.99], [0.98])
IDENTICAL = study([0.99, 0.98], [0.99, 0.98], weights="same")


def claim(expect, metrics=("test_accuracy",), variant="a"):
    return {"id": "c", "claim": "x", "quote": "x", "variant": variant, "against": "b",
            "metrics": list(metrics), "expect": expect}  # fmt: skip


@pytest.mark.parametrize(
    "table, expect, status",
    [
        (CLEAR, "better", "supported"),
        (CLEAR, "worse", "contradicted"),
        (NOISY, "better", "not shown"),
        (CLOSE, "no difference", "equivalent"),
        (NOISY, "no difference", "not shown equivalent"),
        (CLEAR, "no difference", "contradicted"),
        (ONE_SEED, "better", "cannot be judged"),
        (IDENTICAL, "worse", "not tested"),
    ],
)
def test_every_claim_status_is_reachable(table, expect, status):
    judged = claims.judge_claim(table, claim(expect), SETTINGS)
    assert judged["status"] == status, judged["reason"]


def test_nothing_found_is_not_equivalence():
    # The old rule called this "supported": no difference found. The interval is
    # far wider than the margin, so nothing was shown either way.
    judged = claims.judge_claim(NOISY, claim("no difference"), SETTINGS)
    assert judged["status"] == "not shown equivalent"
    assert "the 90% interval reaches" in judged["reason"] and "±0.20 pp" in judged["reason"]


def test_identical_training_is_caught_not_judged():
    judged = claims.judge_claim(IDENTICAL, claim("worse"), SETTINGS)
    assert "identical training" in judged["reason"]
    comparison = judging.compare(IDENTICAL, {"variant": "a", "against": "b"}, SETTINGS)
    assert comparison["identical"]
    assert {r["verdict"] for r in comparison["results"]} == {"not tested"}


def test_claim_variant_missing_is_not_tested():
    judged = claims.judge_claim(CLEAR, claim("worse", variant="sigmoid_output"), SETTINGS)
    assert judged["status"] == "not tested" and "sigmoid_output" in judged["reason"]


def test_a_claim_on_several_metrics_is_holm_corrected_against_it():
    # Test accuracy alone differs the other way (p about 0.03); the other metrics are
    # noise. On that metric alone, "worse" is contradicted; over four metrics, Holm's
    # correction (p times 4) leaves the difference not shown, but a drop of the
    # margin (0.2 pp) is still excluded: contradicted as negligible, not as "better".
    table = NOISY.copy()
    a, b = table["variant"] == "a", table["variant"] == "b"
    table.loc[a, "test_accuracy"] = table.loc[b, "test_accuracy"].to_numpy() + [
        0.002,
        0.0035,
        0.0025,
    ]
    alone = claims.judge_claim(table, claim("worse"), SETTINGS)
    assert alone["status"] == "contradicted"
    assert 0.01 < alone["results"][0]["p"] < 0.05
    four = ("test_accuracy", "val_accuracy", "train_accuracy", "test_loss")
    judged = claims.judge_claim(table, claim("worse", four), SETTINGS)
    assert judged["status"] == "contradicted"
    assert "came out better" not in judged["reason"]
    assert judged["reason"].startswith("test_accuracy: worse by less than 0.20 pp if at all")
    assert judged["results"][0]["p_holm"] == pytest.approx(4 * alone["results"][0]["p"])


@pytest.mark.parametrize(
    "table, verdict",
    [
        (CLEAR, "better"),
        (study([0.985, 0.986, 0.9855], [0.990, 0.991, 0.992]), "worse"),
        (CLOSE, "equivalent within ±0.20 pp"),
        (NOISY, "inconclusive"),
        (ONE_SEED, "no verdict"),
        (IDENTICAL, "not tested"),
    ],
)
def test_comparison_verdicts(table, verdict):
    result = judging.compare(table, {"variant": "a", "against": "b"}, SETTINGS)["results"][0]
    assert result["metric"] == "test_accuracy" and result["verdict"] == verdict


def test_a_real_difference_inside_the_margin_says_both():
    # 0.04-0.06 pp on every seed: real, and smaller than the margin.
    table = study([0.9905, 0.9915, 0.9895, 0.9910], [0.9900, 0.9909, 0.9891, 0.9905])
    result = judging.compare(table, {"variant": "a", "against": "b"}, SETTINGS)["results"][0]
    assert result["verdict"] == "better, by less than ±0.20 pp"


def test_power_and_seeds_needed_are_reported():
    original = {"a": {"test_accuracy": 0.9884}, "b": {"test_accuracy": 0.9868}}
    r = metric_comparison.compare_metric(
        NOISY, "a", "b", "test_accuracy", SETTINGS, original
    ).to_json()
    assert r["detectable"] > abs(r["original_diff"])  # three noisy seeds cannot see 0.16 pp
    assert r["seeds_for_original"] is None or r["seeds_for_original"] > 3
    assert r["original_diff"] == pytest.approx(0.0016)
    assert r["pi_low"] < r["low"] and r["high"] < r["pi_high"]  # one run scatters more
    assert r["original_in_prediction"] is True


def test_the_originals_own_numbers_are_checked_against_its_claim():
    original = {
        "a": {"val_loss": 0.0288, "test_accuracy": 0.9896},
        "b": {"val_loss": 0.0524, "test_accuracy": 0.9868},
    }
    same = claims.own_numbers_note(claim("no difference", ("val_loss",)), original, SETTINGS)
    assert same == ["val_loss 0.0288 vs 0.0524 (-0.0236), beyond ±0.0050"]
    worse = claims.own_numbers_note(claim("worse", ("val_loss",)), original, SETTINGS)
    assert worse == [
        "val_loss 0.0288 vs 0.0524 (-0.0236): better, not worse",
        "test_accuracy 0.9896 vs 0.9868 (+0.28 pp): better, not worse",
    ]


def test_comparison_flags_a_change_that_also_reshapes_the_dense_head():
    shallower = study([0.99] * 2, [0.99] * 2, params=(224394, 97482), flatten=(3136, 576))
    comparison = judging.compare(shallower, {"variant": "a", "against": "b"}, SETTINGS)
    assert comparison["confounded"] and comparison["params_ratio"] == pytest.approx(2.302, abs=1e-3)
    bn = study([0.99] * 2, [0.99] * 2, params=(98122, 97482))
    assert not judging.compare(bn, {"variant": "a", "against": "b"}, SETTINGS)["confounded"]


def test_a_setup_unlike_the_originals_drops_its_numbers():
    reference = {
        "setup": {"dataset": "mnist", "epochs": 10, "train_images": 54000},
        "variants": {"a": {"test_accuracy": 0.98}, "b": {"test_accuracy": 0.97}},
        "claims": [claim("better")],
    }
    tiny = {"dataset": "mnist", "epochs": 1, "train_images": 540}
    judged = judging.judge(CLEAR, [{"variant": "a", "against": "b"}], reference, tiny, SETTINGS)
    assert judged["setup_differences"] == [
        "training images: 540 here, 54000 in the original",
        "epochs: 1 here, 10 in the original",
    ]
    assert judged["claims"][0]["status"] == "supported"  # judged within this study
    assert judged["claims"][0]["results"][0]["original_a"] is None
    assert judged["original"] == {}  # so the figure and report show none of them
    same = judging.judge(CLEAR, [], reference, reference["setup"], SETTINGS)
    assert same["setup_differences"] == []
    assert same["claims"][0]["results"][0]["original_a"] == 0.98
    assert same["original"] == reference["variants"]


def test_every_claim_of_the_reference_is_well_formed_and_tested_by_default():
    reference = yaml.safe_load((REPO / "workflow/reference/original_report.yaml").read_text())
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    ids = [c["id"] for c in reference["claims"]]
    assert len(ids) == len(set(ids)) == 8
    for c in reference["claims"]:
        assert c["expect"] in claims.CLAIM_EXPECTATIONS
        assert set(c["metrics"]) <= set(METRICS)
        assert {c["variant"], c["against"]} <= set(config["variants"])
    # The overall conclusion on depth is encoded, and the untestable ones say why.
    assert sum("層數減少與增加" in c["quote"] for c in reference["claims"]) == 2
    assert all(c["reason"] for c in reference["not_checkable"])
    assert any("9:1" in note for note in reference["notes"])


def test_inside_the_margin_alone_but_not_after_holm_says_so():
    # Test accuracy alone would be shown equivalent (p about 0.03); over four metrics,
    # Holm's correction multiplies that p by up to 4.
    table = NOISY.copy()
    a, b = table["variant"] == "a", table["variant"] == "b"
    table.loc[a, "test_accuracy"] = table.loc[b, "test_accuracy"].to_numpy() + [
        0.0008,
        -0.0006,
        0.0004,
    ]
    alone = metric_comparison.compare_metric(table, "a", "b", "test_accuracy", SETTINGS).to_json()
    assert alone["p_equivalence"] < 0.05
    result = judging.compare(table, {"variant": "a", "against": "b"}, SETTINGS)["results"][0]
    assert result["verdict"] == "inconclusive"
    assert (
        "inside ±0.20 pp on its own but not after Holm's correction over 4 metrics"
        in result["reason"]
    )


def test_the_same_difference_on_every_seed_is_not_testable_never_certain():
    # +5 test images on every seed: no spread, so no noise estimate. The old rule set
    # p = 0 ("better", and "more than 1,000 seeds" for anything else).
    table = study([0.9905, 0.9915, 0.9895], [0.9900, 0.9910, 0.9890])
    result = judging.compare(table, {"variant": "a", "against": "b"}, SETTINGS)["results"][0]
    assert result["verdict"] == "not testable" and not result["tested"]
    assert "+0.05 pp on every one of the 3 seeds" in result["reason"]
    assert "p" not in result
    judged = claims.judge_claim(table, claim("better"), SETTINGS)
    assert judged["status"] == "cannot be judged" and "no spread" in judged["reason"]


def test_float32_accuracies_are_compared_as_whole_images():
    # +2 of 6,000 validation images on every seed, as Keras stores them (float32):
    # the fractions differ in their last digits (sd 3e-8, t in the thousands), the
    # counts do not.
    import numpy as np

    table = study([0.99, 0.99, 0.99], [0.99, 0.99, 0.99])
    counts = {"a": [5942, 5931, 5950], "b": [5940, 5929, 5948]}
    for name, correct in counts.items():
        rows = table["variant"] == name
        table.loc[rows, "val_accuracy"] = np.float32(np.array(correct) / 6000).astype(float)
    floats = table.set_index(["variant", "seed"])["val_accuracy"]
    assert (floats["a"] - floats["b"]).std() > 0  # the trap: spread from rounding alone
    result = metric_comparison.compare_metric(table, "a", "b", "val_accuracy", SETTINGS).to_json()
    assert not result["spread"] and result["mean"] == pytest.approx(2 / 6000, abs=1e-15)


def test_a_negligible_effect_contradicts_a_better_or_worse_claim():
    # The variant moves by -0.03 to +0.02 pp: every drop of 0.2 pp or more is
    # excluded (the 90% interval's lower end is above -0.2 pp), so "lowers
    # accuracy significantly" is contradicted; before, it stayed "not shown".
    table = study([0.9897, 0.9912, 0.9890, 0.9907], [0.9900, 0.9910, 0.9891, 0.9906])
    judged = claims.judge_claim(table, claim("worse"), SETTINGS)
    assert judged["status"] == "contradicted"
    assert judged["reason"].startswith("test_accuracy: worse by less than 0.20 pp if at all")
    assert judged["results"][0]["eq_low"] > -0.002
    # Noise as wide as the margin excludes nothing: still "not shown".
    assert claims.judge_claim(NOISY, claim("worse"), SETTINGS)["status"] == "not shown"


def test_a_real_but_negligible_drop_contradicts_the_claim_a_large_one_supports_it():
    """One rule, both ways: a drop shown real (p < alpha) but shown smaller than the
    margin is negligible, so "drops accuracy" is contradicted, not supported; the
    same seeds with the drop made larger than the margin support it."""
    base = [0.9900, 0.9910, 0.9890, 0.9905, 0.9895, 0.9902]
    small = [b - d for b, d in zip(base, [0.0005, 0.0006, 0.0004, 0.0005, 0.0005, 0.0006])]
    judged = claims.judge_claim(study(small, base), claim("worse"), SETTINGS)
    result = judged["results"][0]
    assert result["p"] < 0.05 and result["direction"] == "worse"  # real
    assert judged["status"] == "contradicted"
    assert judged["reason"].startswith(
        "test_accuracy: worse by less than 0.20 pp (real, but negligible)"
    )
    large = [b - d for b, d in zip(base, [0.0050, 0.0052, 0.0048, 0.0051, 0.0049, 0.0050])]
    judged = claims.judge_claim(study(large, base), claim("worse"), SETTINGS)
    assert judged["status"] == "supported" and judged["reason"] == ""


def test_the_originals_single_run_is_set_against_the_spread_of_unpaired_runs():
    """Its difference is of two runs of another study, not a pair sharing a seed: one
    new unpaired difference scatters with sqrt(s_a^2 + s_b^2). Simulated with a
    strong seed effect shared by both variants (paired differences nearly constant),
    the interval still covers a new unpaired difference at least 95% of the time;
    the paired prediction interval, used before, covers it far less often."""
    import numpy as np

    from ablation import paired

    rng = np.random.default_rng(3)
    trials, n = 4000, 3
    shared = rng.normal(0, 0.003, size=(trials, n))  # the seed's draw, both variants
    a = 0.990 + shared + rng.normal(0, 0.0005, size=(trials, n))
    b = 0.989 + shared + rng.normal(0, 0.0005, size=(trials, n))
    new = (
        0.001
        + rng.normal(0, 0.003, size=(trials, 2)) @ [1, -1]
        + rng.normal(0, 0.0005 * np.sqrt(2), size=trials)
    )
    unpaired = paired_hits = 0
    for i in range(trials):
        low, high = paired.unpaired_prediction_interval(a[i], b[i], 0.95)
        unpaired += low <= new[i] <= high
        low, high = paired.prediction_interval(a[i] - b[i], 0.95)
        paired_hits += low <= new[i] <= high
    assert unpaired / trials >= 0.95
    assert paired_hits / trials < 0.5


def test_a_sequential_study_judges_each_comparison_at_its_stopping_look():
    from ablation import sequential

    # Six seeds trained; the design stopped a vs b at its first look (3 seeds).
    table = study([0.990, 0.991, 0.992, 0.980, 0.981, 0.982], [0.985, 0.986, 0.9855] * 2)
    design = sequential.Design(looks=(3, 6), alpha=0.05, futility=0.1)
    looks = [{"look": 1, "n": 3, "open": [], "comparisons": [
        {"index": 0, "variant": "a", "against": "b", "n": 3, "decision": "different"}]}]  # fmt: skip
    sequence = {"design": {"looks": [3, 6], "alpha": 0.05, "futility": 0.1}, "looks": looks}
    reference = {"claims": [claim("better"), {**claim("better"), "against": "c"}]}
    judged = judging.judge(table, [{"variant": "a", "against": "b"}], reference, {}, SETTINGS,
                            sequence)  # fmt: skip
    result = judged["comparisons"][0]["results"][0]
    assert result["n"] == 3 and result["seeds"] == [1, 2, 3]  # not the later seeds
    (low, high), _ = sequential.repeated_intervals([0.005, 0.005, 0.0065], design, 0)
    assert (result["low"], result["high"]) == pytest.approx((low, high))
    fixed = metric_comparison.compare_metric(
        table.query("seed <= 3"), "a", "b", "test_accuracy", SETTINGS
    ).to_json()
    assert result["high"] - result["low"] > fixed["high"] - fixed["low"]  # wider: repeated
    assert result["p"] > fixed["p"]  # the repeated p-value
    assert result["interval_name"] == "repeated interval"
    assert judged["comparisons"][0]["sequence"][0]["decision"] == "different"
    assert judged["claims"][1]["status"] == "not tested"
    assert "does not compare a with c" in judged["claims"][1]["reason"]
