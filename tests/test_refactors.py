"""Recorded refactors: a study keeps its results across a change to a rule's code
only where recorded refactors explain the whole change (ablation/refactors.py)."""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from ablation import code, provenance, refactors
from conftest import REPO, check, copy_study, snakemake
from test_rebuild import planned

SCRIPTS = REPO / "workflow" / "scripts"

OLD = """# The code a job of this rule runs.
ablation/judging.py aaa
verdicts.py bbb
# The rule as declared: each input, output and param by its role.
input metrics: results/metrics.csv
"""
# judging.py split in two, same results.
SPLIT = refactors.Refactor(
    "verdicts", "judging.py split", ("a check",),
    removed=("ablation/judging.py aaa",), added=("ablation/claims.py ccc", "ablation/judging.py ddd"),
)  # fmt: skip
NEW = OLD.replace("ablation/judging.py aaa\n", "ablation/claims.py ccc\nablation/judging.py ddd\n")


def test_a_recorded_refactor_explains_exactly_its_own_change():
    assert refactors.explaining("verdicts", OLD, NEW, [SPLIT]) == [SPLIT]
    # Another rule's record, a further edit, a changed param, no record: not explained.
    other_rule = refactors.Refactor("report", *[getattr(SPLIT, f) for f in
                                                ("change", "checked", "removed", "added")])  # fmt: skip
    assert refactors.explaining("verdicts", OLD, NEW, [other_rule]) is None
    assert refactors.explaining("verdicts", OLD, NEW.replace("bbb", "eee"), [SPLIT]) is None
    assert (
        refactors.explaining("verdicts", OLD, NEW.replace("metrics.csv", "m.csv"), [SPLIT]) is None
    )
    assert refactors.explaining("verdicts", OLD, NEW, []) is None
    # A study made by older code than the refactor's: its lines are not the removed ones.
    older = OLD.replace("judging.py aaa", "judging.py 000")
    assert refactors.explaining("verdicts", older, NEW, [SPLIT]) is None


def test_refactors_recorded_one_after_another_chain():
    later = refactors.Refactor("verdicts", "claims renamed", ("a check",),
                               ("ablation/claims.py ccc",), ("ablation/claims.py fff",))  # fmt: skip
    newest = NEW.replace("claims.py ccc", "claims.py fff")
    assert refactors.explaining("verdicts", OLD, newest, [SPLIT, later]) == [SPLIT, later]
    assert refactors.explaining("verdicts", NEW, newest, [SPLIT, later]) == [later]


def test_lines_changed_is_what_a_refactor_records():
    removed, added = refactors.lines_changed(OLD, NEW)
    assert (removed, added) == (list(SPLIT.removed), sorted(SPLIT.added))


def test_the_registry_is_checked_and_a_mistake_named(tmp_path):
    registry = tmp_path / "refactors.yaml"
    assert refactors.read(registry) == []
    registry.write_text("- rule: verdicts\n  change: x\n  checked: [y]\n  removed: []\n")
    with pytest.raises(refactors.RegistryError, match=r"refactors.yaml: \$\[0\]: 'added'"):
        refactors.read(registry)
    registry.write_text("- rule: [")
    with pytest.raises(refactors.RegistryError, match="refactors.yaml: not YAML"):
        refactors.read(registry)


def test_the_projects_registry_reads():
    """Every refactor shipped is well formed, and was checked on some study."""
    for refactor in refactors.read(REPO / "workflow" / "refactors.yaml"):
        assert refactor.checked and (refactor.removed or refactor.added), refactor


def test_identity_text_is_what_code_identity_writes(tmp_path):
    out = tmp_path / "verdicts.txt"
    definition = ["input metrics: results/metrics.csv", "params alpha: 0.05"]
    args = (SCRIPTS / "verdicts.py", SCRIPTS / "ablation", SCRIPTS)
    code.code_identity(*args, out, definition)
    assert refactors.identity_text(*args, definition) == out.read_text()


def test_records_move_to_the_new_identity_only_where_they_name_the_old(tmp_path, monkeypatch):
    import base64

    monkeypatch.chdir(tmp_path)
    identity = "results/code/verdicts.txt"
    # Snakemake's checksum of a small input's text.
    old, new = (f"sha256:{hashlib.sha256(t.encode()).hexdigest()}" for t in ("old\n", "new\n"))

    def write_record(root, made, checksum):
        record = root / base64.urlsafe_b64encode(made.encode()).decode()
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"incomplete": False, "input_checksums": {
            identity: checksum, "results/metrics.csv": "sha256:m"}}))  # fmt: skip
        return record

    made_by_old = write_record(provenance.METADATA, "results/verdicts.json", old)
    kept = write_record(tmp_path / "results" / provenance.KEPT, "results/verdicts.json", old)
    made_by_older = write_record(provenance.METADATA, "results/other.json", "sha256:older")
    assert provenance.move_checksums("results", identity, "old\n", "new\n") == 2
    for record in (made_by_old, kept):
        checksums = json.loads(record.read_text())["input_checksums"]
        assert checksums == {identity: new, "results/metrics.csv": "sha256:m"}
    assert json.loads(made_by_older.read_text())["input_checksums"][identity] == "sha256:older"
    assert not [p for p in tmp_path.rglob("*.tmp")]
    assert os.listdir(provenance.METADATA)


def rename_in(project, old, new, *paths):
    for path in paths:
        path = project / "workflow" / "scripts" / path
        path.write_text(path.read_text().replace(old, new))


@pytest.mark.workflow
def test_a_recorded_refactor_keeps_a_finished_studys_results(study_copy, tiny_study, tmp_path):
    """A maintainer renames a function of the verdicts job and records the refactor:
    the finished study plans nothing, nor does a copy of it in a fresh clone; a
    second study checks it again. A change that alters verdicts.json is refused and
    reruns the job."""
    verdicts = study_copy / "results" / "verdicts.json"
    made = verdicts.stat().st_mtime_ns
    registry = study_copy / "workflow" / "refactors.yaml"
    shipped = refactors.read(registry)
    rename_in(study_copy, "json_safe", "as_json_value", "ablation/judging.py", "verdicts.py")
    record = [sys.executable, "workflow/scripts/record_refactor.py", "verdicts"]
    result = subprocess.run([*record, "--change", "json_safe renamed"], cwd=study_copy,
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "1 outputs of 1 jobs the same" in result.stdout
    (recorded,) = refactors.read(registry)[len(shipped) :]
    assert recorded.rule == "verdicts" and recorded.change == "json_safe renamed"
    assert any(line.startswith("ablation/judging.py ") for line in recorded.removed)
    assert verdicts.stat().st_mtime_ns == made  # the study was only read

    plan = check(snakemake(study_copy, "-n", "report.md"))
    assert "Kept the results of verdicts: their code changed by a refactor" in plan.stderr
    assert "Nothing to be done" in plan.stdout + plan.stderr and verdicts.stat().st_mtime_ns == made
    # Its records travel with it (results/.provenance): a copy keeps its results too.
    clone = tmp_path / "clone"
    shutil.copytree(study_copy, clone, ignore=shutil.ignore_patterns(".snakemake"),
                    copy_function=shutil.copyfile)  # fmt: skip
    files = [p for p in clone.rglob("*") if p.is_file()]
    for i, p in enumerate(reversed(files)):  # outputs older than their inputs, too
        os.utime(p, ns=(10**18 + i, 10**18 + i))
    assert planned(clone) == set()

    # Checked again on a second study made with the old code: one record, two checks.
    second = copy_study(tiny_study, tmp_path / "second")
    for path in ("ablation/judging.py", "verdicts.py", "../refactors.yaml"):
        shutil.copy(study_copy / "workflow/scripts" / path, second / "workflow/scripts" / path)
    check(subprocess.run([*record, "--change", "again"], cwd=second, capture_output=True))
    (again,) = refactors.read(second / "workflow" / "refactors.yaml")[len(shipped) :]
    assert again.change == "json_safe renamed" and len(again.checked) == 2

    # Not a refactor: verdicts.json gains a key. Refused, nothing recorded, rerun.
    rename_in(study_copy, "judging.as_json_value(judged)",
              '{**judging.as_json_value(judged), "edited": True}', "verdicts.py")  # fmt: skip
    result = subprocess.run([*record, "--change", "an edit"], cwd=study_copy,
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 1
    assert "not a refactor, 1 of 1 outputs differ" in result.stderr
    assert "results/verdicts.json" in result.stderr
    assert refactors.read(registry) == [*shipped, recorded]
    assert "results/verdicts.json" in planned(study_copy)
