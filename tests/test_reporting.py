"""The report's tables and rendering (the verdicts: test_judging.py)."""

import jinja2
import pandas as pd
import pytest

from ablation import metrics_table, rendering, reporting


def pairs(a_values, b_values):
    rows = [("a", s, v, 1 - v) for s, v in enumerate(a_values)]
    rows += [("b", s, v, 1 - v) for s, v in enumerate(b_values)]
    return pd.DataFrame(rows, columns=["variant", "seed", "test_accuracy", "test_loss"])


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
    s = metrics_table.summarize(m, order=["b", "a"])
    assert list(s.index) == ["b", "a"]
    assert s.loc["a", "n_seeds"] == 2
    assert s.loc["a", "test_accuracy_mean"] == pytest.approx(0.985)
    assert s.loc["a", "test_accuracy_min"] == pytest.approx(0.98)


def test_template_with_a_misspelt_name_fails_instead_of_printing_nothing(tmp_path):
    (tmp_path / "t.md.j2").write_text("{{ settings.epochs }} {{ settinsg }}")
    with pytest.raises(jinja2.UndefinedError, match="settinsg"):
        rendering.render(tmp_path / "t.md.j2", {"settings": {"epochs": 1}})
