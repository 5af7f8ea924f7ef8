"""Refactors: changes to what a rule's jobs run that make the same files from the same
inputs, so that a finished study keeps its results across them.

A rule's code identity (results/code/RULE.txt, ablation/code.py) changes with any
edit to what its jobs run, and reruns them: a stale result is worse than one rebuilt
for nothing. A refactor is the one change where that rerun is known to be for
nothing, once it has been checked: workflow/scripts/record_refactor.py reruns the
rule's jobs of a finished study with the new code, compares their outputs byte for
byte with the old ones and, only when all are the same, records the change in
workflow/refactors.yaml as the identity lines it removed and added.

When the Snakefile is read, a study whose identity file differs from this code's
identity by recorded refactors alone keeps its results: the records of how its files
were made (the input checksums Snakemake and results/.provenance keep,
ablation/provenance.py) are moved to the new identity, then the new identity is
written, and Snakemake finds those jobs up to date. Any other difference (a line no
refactor names, code changed since the refactor was recorded) reruns the jobs as
before. Only the Snakefile and record_refactor.py read this module: no job's code
identity includes it.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Sequence

import jsonschema
import yaml

from .code import identity

SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["rule", "change", "checked", "removed", "added"],
        "additionalProperties": False,
        "properties": {
            "rule": {"type": "string"},
            "change": {"type": "string"},
            "checked": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "removed": {"type": "array", "items": {"type": "string"}},
            "added": {"type": "array", "items": {"type": "string"}},
        },
    },
}


@dataclasses.dataclass(frozen=True)
class Refactor:
    """One recorded refactor of ``rule``: the identity lines it ``removed`` and
    ``added`` (ablation/code.py's lines), what it was and on which studies its jobs'
    outputs were found the same."""

    rule: str
    change: str
    checked: tuple[str, ...]
    removed: tuple[str, ...]
    added: tuple[str, ...]

    def record(self) -> dict:
        return {**dataclasses.asdict(self), **{k: list(getattr(self, k)) for k in
                                               ("checked", "removed", "added")}}  # fmt: skip


class RegistryError(ValueError):
    """workflow/refactors.yaml is not a list of refactors as SCHEMA says."""


def read(path: str | Path) -> list[Refactor]:
    """The refactors recorded in ``path`` (none when it does not exist), in the
    order they were recorded."""
    path = Path(path)
    if not path.is_file():
        return []
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        jsonschema.validate(entries, SCHEMA)
    except yaml.YAMLError as error:
        raise RegistryError(f"{path}: not YAML ({error})") from None
    except jsonschema.ValidationError as error:
        raise RegistryError(f"{path}: {error.json_path}: {error.message}") from None
    return [Refactor(**{k: tuple(v) if isinstance(v, list) else v for k, v in e.items()})
            for e in entries]  # fmt: skip


def explaining(
    rule: str, old: str, new: str, refactors: Sequence[Refactor]
) -> list[Refactor] | None:
    """The recorded refactors of ``rule`` that take identity text ``old`` to ``new``,
    applied in the order recorded (a later refactor may build on an earlier one);
    None when they do not get there. Each must find all the lines it removed."""
    lines, target, used = Counter(old.splitlines()), Counter(new.splitlines()), []
    for refactor in refactors:
        if lines == target:
            break
        removed = Counter(refactor.removed)
        if refactor.rule != rule or removed - lines:
            continue
        lines = lines - removed + Counter(refactor.added)
        used.append(refactor)
    return used if used and lines == target else None


def lines_changed(old: str, new: str) -> tuple[list[str], list[str]]:
    """The lines of identity text ``old`` that ``new`` lacks, and those it adds."""
    before, after = Counter(old.splitlines()), Counter(new.splitlines())
    return sorted((before - after).elements()), sorted((after - before).elements())


def identity_text(
    script: Path, package_dir: Path, relative_to: Path, definition: Sequence[str]
) -> str:
    """The text code.code_identity writes for a rule (its code, then the rule as
    declared), computed without writing. Composed here, not changed there: code.py
    is in every job's code identity, and an edit to it would rerun every study."""
    text = identity(script, package_dir, relative_to)
    if definition:
        text += "# The rule as declared: each input, output and param by its role.\n"
        text += "".join(f"{line}\n" for line in definition)
    return text
