"""Statistics between seeds and the report's rendering."""

import jinja2
import pandas as pd
import pytest

from ablation import reporting


def metrics(rows):
    return pd.DataFrame(rows, columns=["variant", "seed", "test_accuracy", "test_loss"])


def pairs(a_values, b_values):
    rows = [("a", s, v, 1 - v) for s, v in enumerate(a_values)]
    rows += [("b", s, v, 1 - v) for s, v in enumerate(b_values)]
    return metrics(rows)


def test_consistent_gain_is_better():
    m = pairs([0.991, 0.992, 0.990], [0.985, 0.986, 0.985])
    r = reporting.paired_difference(m, "a", "b", "test_accuracy")
    assert r["verdict"] == "better"
    assert r["mean"] == pytest.approx(0.0056667, abs=1e-6)
    assert 0 < r["low"] < r["mean"] < r["high"]


def test_lower_loss_is_better_and_higher_accuracy_loss_is_worse():
    m = pairs([0.991, 0.992, 0.990], [0.985, 0.986, 0.985])
    assert reporting.paired_difference(m, "a", "b", "test_loss")["verdict"] == "better"
    assert reporting.paired_difference(m, "b", "a", "test_accuracy")["verdict"] == "worse"


def test_difference_smaller_than_seed_noise_is_within_noise():
    # b is better on one seed, worse on the others: the interval straddles zero.
    m = pairs([0.990, 0.986, 0.989], [0.987, 0.989, 0.988])
    r = reporting.paired_difference(m, "a", "b", "test_accuracy")
    assert r["verdict"] == "within noise"
    assert r["low"] < 0 < r["high"]


def test_interval_is_the_student_t_interval():
    m = pairs([0.99, 0.98, 0.97], [0.96, 0.97, 0.94])  # diffs 0.03, 0.01, 0.03
    r = reporting.paired_difference(m, "a", "b", "test_accuracy")
    # mean 0.023333, sd 0.011547, t(0.975, 2) = 4.302653
    half = 4.302653 * 0.0115470 / 3**0.5
    assert r["low"] == pytest.approx(0.0233333 - half, abs=1e-6)
    assert r["high"] == pytest.approx(0.0233333 + half, abs=1e-6)


def test_one_seed_gives_no_verdict():
    r = reporting.paired_difference(pairs([0.99], [0.98]), "a", "b", "test_accuracy")
    assert r["verdict"] == "no verdict"
    assert r["low"] is None and "cannot be measured" in r["reason"]
    assert r["mean"] == pytest.approx(0.01)


def test_only_shared_seeds_are_paired():
    m = metrics([("a", 1, 0.99, 0), ("a", 2, 0.98, 0), ("b", 2, 0.97, 0), ("b", 3, 0.5, 0)])
    r = reporting.paired_difference(m, "a", "b", "test_accuracy")
    assert r["seeds"] == [2] and r["mean"] == pytest.approx(0.01)


def test_final_epoch_line_reads_like_keras():
    history = pd.DataFrame(
        [{"epoch": 10, "loss": 0.012, "accuracy": 0.9963, "val_loss": 0.0524,
          "val_accuracy": 0.9902, "seconds": 6.2}]
    )  # fmt: skip
    assert reporting.final_epoch_line(history, 1688) == (
        "Epoch 10/10\n1688/1688 - 6s - loss: 0.0120 - accuracy: 0.9963 - "
        "val_loss: 0.0524 - val_accuracy: 0.9902"
    )


def test_summary_keeps_config_order_and_counts_seeds():
    m = pairs([0.99, 0.98], [0.97, 0.96])
    for col in ("val_accuracy", "val_loss", "train_accuracy", "train_loss", "mean_epoch_seconds"):
        m[col] = 0.5
    m["total_params"], m["non_trainable_params"] = 10, 0
    s = reporting.summarize(m, order=["b", "a"])
    assert list(s.index) == ["b", "a"]
    assert s.loc["a", "n_seeds"] == 2
    assert s.loc["a", "test_accuracy_mean"] == pytest.approx(0.985)
    assert s.loc["a", "test_accuracy_min"] == pytest.approx(0.98)


def test_template_with_a_misspelt_name_fails_instead_of_printing_nothing(tmp_path):
    (tmp_path / "t.md.j2").write_text("{{ settings.epochs }} {{ settinsg }}")
    with pytest.raises(jinja2.UndefinedError, match="settinsg"):
        reporting.render(tmp_path / "t.md.j2", {"settings": {"epochs": 1}})


def claim(expect, metric_names=("test_accuracy",), variant="a"):
    return {"id": "c", "claim": "x", "quote": "x", "variant": variant, "against": "b",
            "metrics": list(metric_names), "expect": expect}  # fmt: skip


# a beats b by about 0.5 pp on every seed; c and b differ by less than the noise.
CLEAR = pairs([0.990, 0.991, 0.992], [0.985, 0.986, 0.9855])
NOISY = pairs([0.990, 0.984, 0.987], [0.986, 0.989, 0.985])


@pytest.mark.parametrize(
    "table, expect, status",
    [
        (CLEAR, "better", "supported"),
        (CLEAR, "worse", "contradicted"),
        (CLEAR, "no difference", "contradicted"),
        (NOISY, "better", "not supported"),
        (NOISY, "worse", "not supported"),
        (NOISY, "no difference", "supported"),
    ],
)
def test_claim_verdict_follows_the_paired_interval(table, expect, status):
    assert reporting.judge_claim(table, claim(expect), {})["status"] == status


def test_claim_needs_every_metric_to_agree():
    # Accuracy is clearly better, loss (1 - accuracy here) too: both agree.
    both = reporting.judge_claim(CLEAR, claim("better", ("test_accuracy", "test_loss")), {})
    assert both["status"] == "supported" and len(both["results"]) == 2
    table = CLEAR.copy()
    table.loc[table["variant"] == "a", "test_loss"] = [0.2, 0.01, 0.3]  # loss now noisy
    mixed = reporting.judge_claim(table, claim("better", ("test_accuracy", "test_loss")), {})
    assert mixed["status"] == "not supported"


def test_claim_with_one_seed_cannot_be_judged():
    one = pairs([0.99], [0.98])
    assert reporting.judge_claim(one, claim("better"), {})["status"] == "cannot be judged"


def test_claim_about_a_variant_not_in_the_study_is_not_tested():
    judged = reporting.judge_claim(CLEAR, claim("worse", variant="sigmoid_output"), {})
    assert judged["status"] == "not tested" and "sigmoid_output" in judged["reason"]


def test_claim_shows_the_original_numbers_where_it_had_them():
    original = {"a": {"test_accuracy": 0.9857}, "b": {"test_accuracy": 0.9868}}
    judged = reporting.judge_claim(CLEAR, claim("better"), original)
    assert (judged["results"][0]["original_a"], judged["results"][0]["original_b"]) == (0.9857, 0.9868)
    assert reporting.judge_claim(CLEAR, claim("better"), {})["results"][0]["original_a"] is None


def test_every_claim_of_the_reference_is_well_formed():
    import yaml

    from conftest import REPO

    reference = yaml.safe_load((REPO / "workflow/reference/original_report.yaml").read_text())
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert len(reference["claims"]) == 5
    for c in reference["claims"]:
        assert c["expect"] in reporting.CLAIM_EXPECTATIONS
        assert set(c["metrics"]) <= set(reporting.HIGHER_IS_BETTER)
        # The default study tests every claim.
        assert {c["variant"], c["against"]} <= set(config["variants"])
