"""Checkpoint look: one look of the sequential design, deciding each comparison
still open from its paired test-accuracy differences."""

import json
from pathlib import Path

from ablation import atomic, looks, sequential
from ablation.joblog import run_logged, say


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def main(smk):
    looks.require_finished(smk.input.finished)
    design_file = read_json(smk.input.design)
    design = sequential.Design.from_dict(design_file)
    comparisons = design_file["comparisons"]
    k = int(smk.wildcards.k) - 1
    still_open = (
        read_json(smk.input.previous[0])["open"] if smk.input.previous else range(len(comparisons))
    )
    counts, weights, images = {}, {}, set()
    for run, test_path, facts_path in zip(
        smk.params.runs, smk.input.tests, smk.input.facts, strict=True
    ):
        variant, seed = run["variant"], run["seed"]
        test, facts = read_json(test_path), read_json(facts_path)
        counts.setdefault(variant, {})[seed] = round(test["test_accuracy"] * test["test_images"])
        weights.setdefault(variant, {})[seed] = facts["weights_sha256"]
        images.add(test["test_images"])
    (n_images,) = images
    judged = looks.judge_look(
        design, k, comparisons, still_open, counts, n_images, weights, design_file["margin"]
    )
    atomic.write_json(smk.output[0], judged)
    for c in judged["comparisons"]:
        chance = (
            f" ({100 * c['conditional_power']:.0f}% chance to be decided by the cap of "
            f"{design.cap} at the spread seen; up to {c['trainings_to_cap']} trainings)"
            if c["decision"] == "continue"
            else ""
        )
        say(
            f"Look {k + 1} ({judged['n']} seeds): {c['variant']} vs {c['against']}: "
            f"{c['decision']}{chance}"
        )
    if judged["hopeless"]:
        say(hopeless_line(judged, design.cap))


def hopeless_line(judged, cap):
    return (
        f"Look {judged['look']}: at the spread seen, no open comparison is likely to be "
        f"decided by the cap of {cap} (best chance {100 * judged['best_chance']:.0f}%): "
        f"the {judged['trainings_to_cap']} trainings left to it may decide nothing"
    )


run_logged(snakemake.log, lambda: main(snakemake), code=snakemake.input.code)  # noqa: F821
