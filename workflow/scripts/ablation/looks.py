"""The looks of a sequential study as files: what look k decided for each open
comparison and what going on costs (judge_look, written by rule look), the seeds
each variant has once the looks so far have decided (seeds_after, read by the
rules), and each comparison's looks in order (histories, read by the verdicts)."""

from __future__ import annotations

from pathlib import Path

from .errors import StudyError
from .sequential import Design, look

# Below this chance of being decided by the cap (conditional power at the spread
# seen), a look says that going on is unlikely to decide anything, whether or not
# the design may stop for futility there.
HOPELESS_POWER = 0.1


def seeds_after(design: Design, comparisons, variants, open_after) -> dict[str, int]:
    """Seeds each variant has, or is to have, once the looks so far have decided:
    every variant the first look's; after look k, the variants of each comparison
    still open (and their references) the next look's. ``open_after[k]``: the
    indices of the comparisons open after look k + 1."""
    seeds = {v: design.looks[0] for v in variants}
    for k, still_open in enumerate(open_after):
        if k + 1 >= len(design.looks):
            break
        for i in still_open:
            for v in (comparisons[i]["variant"], comparisons[i]["against"]):
                seeds[v] = max(seeds[v], design.looks[k + 1])
    return seeds


def judge_look(
    design: Design, k: int, comparisons, open_before, counts, images, weights, margin: float
) -> dict:
    """Look k (from 0) of the comparisons open before it: per comparison the paired
    test-accuracy differences over its first n_k seeds, as whole counts of images
    (``counts[variant][seed]``), and its decision. Two variants with the same weights
    on every seed computed the same thing: that comparison stops at once."""
    n = design.looks[k]
    judged = []
    for i in open_before:
        comp = comparisons[i]
        seeds = range(1, n + 1)
        diffs = [(counts[comp["variant"]][s] - counts[comp["against"]][s]) / images for s in seeds]
        if all(weights[comp["variant"]][s] == weights[comp["against"]][s] for s in seeds):
            entry = {"decision": "identical", "mean": 0.0}
        else:
            found = look(diffs, design, k, margin)
            entry = {
                "decision": found.decision,
                "mean": found.mean,
                "interval": list(found.interval),
                "equivalence_interval": list(found.equivalence_interval),
                "conditional_power": found.conditional_power,
                "trainings_to_cap": 2 * (design.cap - n) if found.decision == "continue" else 0,
            }
        judged.append(
            {"index": i, "variant": comp["variant"], "against": comp["against"], "n": n, **entry}
        )
    still_open = [j for j in judged if j["decision"] == "continue"]
    # What going on to the cap costs: each variant of an open comparison trains up
    # to the cap (a shared reference once).
    going_on = {j[role] for j in still_open for role in ("variant", "against")}
    chances = [j["conditional_power"] for j in still_open]
    return {
        "look": k + 1,
        "n": n,
        "t_bounds": list(design.t_bounds(k)),
        "comparisons": judged,
        "open": [j["index"] for j in still_open],
        "trainings_to_cap": len(going_on) * (design.cap - n),
        # Every open comparison unlikely to be decided by the cap at the spread seen.
        "hopeless": bool(still_open) and max(chances) < HOPELESS_POWER,
        "best_chance": max(chances) if chances else None,
    }


def histories(looks) -> dict[int, list[dict]]:
    """Each comparison's looks, in order, from the look files: index -> entries
    (look, n, decision, mean, intervals, conditional power), the last the one that
    stopped it (or the latest, while it is open)."""
    out: dict[int, list[dict]] = {}
    for taken in looks:
        for entry in taken["comparisons"]:
            out.setdefault(entry["index"], []).append({"look": taken["look"], **entry})
    return out


def require_finished(statuses) -> None:
    """A look is a decision: it reads only the outputs of jobs that finished (their
    status files read "done"; an interrupted job's read "running", see job_log in
    rules/common.smk), never an evaluation of a model an interruption left."""
    unfinished = [p for p in statuses if Path(p).read_text(encoding="utf-8").strip() != "done"]
    if unfinished:
        raise StudyError(
            f"this look would read the outputs of {len(unfinished)} job(s) that did not "
            f"finish ({', '.join(map(str, unfinished[:3]))}{', ...' if len(unfinished) > 3 else ''}): "
            "nothing was decided; run the same command again, which redoes them first"
        )
