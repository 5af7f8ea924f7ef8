"""Every figure of the study, as data: what it reads, where it goes, its caption,
and the plotting function that draws it. A new figure is an entry here and its
function in plotting.py; the rules (workflow/rules/plot.smk), the report and
snakemake --report take it from this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from . import plotting

# What a figure may read: each run's Keras history and test scores (per variant,
# seeds in order), metrics.csv, verdicts.json.
INPUTS = ("histories", "tests", "metrics", "verdicts")
# Where report.md shows a figure: under its results, its comparisons, its curves
# across variants, or in each variant's section (a per-variant figure).
PLACES = ("results", "comparisons", "curves", "variant")


@dataclass
class FigureData:
    """A figure's inputs, read (only those it reads are filled), and the study
    settings it names."""

    seeds: dict[str, list[int]]  # per variant, in the order of its histories and tests
    histories: dict[str, list[pd.DataFrame]]
    tests: dict[str, list[dict]]
    metrics: pd.DataFrame | None
    verdicts: dict | None
    settings: dict[str, Any]


@dataclass(frozen=True)
class Figure:
    name: str  # its file: results/{variant}/{name}.png or results/comparison/{name}.png
    place: str  # one of PLACES
    reads: tuple[str, ...]  # of INPUTS
    draw: Callable[[FigureData, Any, str | None], None]  # (data, path, variant)
    # Its alt text, and the caption shown under it in report.md and snakemake
    # --report: Jinja2 templates of the values render() takes.
    alt: str
    caption: str
    category: str  # snakemake --report's menu
    # Study settings the function uses (keys of the plot rules' FIGURE_SETTINGS):
    # changing one redraws the figure.
    settings: tuple[str, ...] = ()

    @property
    def per_variant(self) -> bool:
        return self.place == "variant"


def render(text: str, **values: Any) -> str:
    """A figure's alt text or caption, given ``variant`` (None for a study-wide
    figure), ``level`` and ``eq_level`` (the difference and equivalence intervals'
    levels), ``seeds`` (how many; None while not known), ``original`` (whether the
    original's numbers are shown; None while not known) and ``accuracy_as``."""
    import jinja2

    return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(text).render(**values)


def figure_key(figure: Figure) -> str:
    """A figure's key (and its rule's name after plot_): its name, prefixed by
    ``variant_`` for a per-variant one (the two kinds live in different folders, so
    both may use a name)."""
    return f"variant_{figure.name}" if figure.per_variant else figure.name


def _registry(*figures: Figure) -> dict[str, Figure]:
    registry = {}
    for figure in figures:
        if figure.place not in PLACES or not set(figure.reads) <= set(INPUTS):
            raise ValueError(f"figure {figure.name}: unknown place or input")
        registry[figure_key(figure)] = figure
    return registry


FIGURES = _registry(
    Figure(
        name="test_accuracy",
        place="results",
        reads=("metrics", "verdicts"),
        draw=lambda d, path, _: plotting.plot_test_accuracy(
            d.metrics, d.settings["variants"], d.verdicts["original"], 1 - d.verdicts["alpha"], path
        ),
        settings=("variants",),
        alt="Test accuracy per variant",
        caption="Test accuracy of every variant: each seed a dot, the mean a diamond"
        "{% if seeds != 1 %} with its {{ level }} interval over seeds{% endif %}"
        "{% if original %}, the original's single run a red x"
        "{% elif original is none %}, the original's single run a red x where this study's set-up "
        "is the original's{% endif %}.",
        category="Results",
    ),
    Figure(
        name="differences",
        place="comparisons",
        reads=("verdicts",),
        draw=lambda d, path, _: plotting.plot_differences(d.verdicts, d.settings["metrics"], path),
        settings=("metrics",),
        alt="Paired differences behind the verdicts",
        caption="Each comparison's paired differences over seeds, per metric: the mean (dot), "
        "its {{ level }} interval (thin bar) and {{ eq_level }} interval (thick bar, the equivalence "
        "test), the margin (grey band){% if original != false %} and the original's single-run "
        "difference (red x){% endif %}.",
        category="Comparison",
    ),
    Figure(
        name="curves",
        place="curves",
        reads=("histories",),
        draw=lambda d, path, _: plotting.plot_comparison(
            d.histories, path, d.settings["accuracy_as"]
        ),
        settings=("accuracy_as",),
        alt="Loss and accuracy by variant",
        caption="Training (top) and validation (bottom) loss and "
        "{{ 'error rate (1 − accuracy, log scale, where curves that all end near 0.99 come apart)'"
        " if accuracy_as == 'error_rate' else 'accuracy' }} over epochs, every variant on the "
        "same axes: the mean over seeds, with the min-max band across seeds.",
        category="Comparison",
    ),
    Figure(
        name="curves",
        place="variant",
        reads=("histories",),
        draw=lambda d, path, v: plotting.plot_variant(d.histories[v], v, path),
        alt="{{ variant }}: training and validation curves",
        caption="{{ variant }}: training and validation loss and accuracy over epochs"
        "{% if seeds != 1 %}, the mean over {{ seeds or 'its' }} seeds with the min-max band"
        "{% endif %}.",
        category="Training curves",
    ),
    Figure(
        name="seeds",
        place="variant",
        reads=("histories", "tests"),
        draw=lambda d, path, v: plotting.plot_seeds(
            d.histories[v], d.tests[v], d.seeds[v], v, path
        ),
        alt="{{ variant }}: each seed's validation curves and test accuracy",
        caption="{{ variant }}, seed by seed: validation loss and accuracy over epochs, one line "
        "per seed, labelled with that seed's test accuracy, so a seed that stands apart on the "
        "test set can be traced to its training.",
        category="Training curves",
    ),
    Figure(
        name="confusion",
        place="variant",
        reads=("tests",),
        draw=lambda d, path, v: plotting.plot_confusion(
            [t["confusion_matrix"] for t in d.tests[v]], d.settings["class_names"], v, path
        ),
        settings=("class_names",),
        alt="{{ variant }}: confusion matrix on the test set",
        caption="{{ variant }}: confusion matrix on the held-out test set"
        "{% if seeds != 1 %}, summed over {{ seeds or 'its' }} seeds{% endif %}: rows the true "
        "class, columns the predicted one, every non-empty cell its count, colour on a log scale "
        "so the few errors show beside the diagonal.",
        category="Test set",
    ),
)
