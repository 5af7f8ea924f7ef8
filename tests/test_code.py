"""A job's code identity: what the code does, not how its file looks or when it was
written (workflow/scripts/ablation/code.py)."""

import os

from ablation import code
from conftest import REPO

SCRIPTS = REPO / "workflow" / "scripts"
LIBRARY = SCRIPTS / "ablation"

SOURCE = '''"""A module."""

def loss(x):
    """Its docstring."""
    return x * 2  # doubled
'''


def test_comments_docstrings_and_layout_do_not_change_the_identity():
    same = [
        SOURCE.replace("# doubled", "# twice"),
        SOURCE.replace('"""Its docstring."""', '"""Another docstring,\n    on two lines."""'),
        SOURCE.replace('"""A module."""\n', ""),
        SOURCE.replace("x * 2", "(x  *  2)") + "\n\n\n",
    ]
    for text in same:
        assert code.normalized(text) == code.normalized(SOURCE), text


def test_what_the_code_does_changes_the_identity():
    for text in [SOURCE.replace("x * 2", "x * 3"), SOURCE + "EDITED = True\n",
                 SOURCE.replace("def loss(x)", "def loss(y)").replace("x * 2", "y * 2")]:  # fmt: skip
        assert code.normalized(text) != code.normalized(SOURCE), text


def test_a_script_runs_the_modules_it_imports_and_theirs():
    files = {p.relative_to(SCRIPTS).as_posix() for p in code.closure(SCRIPTS / "train.py", LIBRARY)}
    # train.py imports training, which imports models; plotting is not run.
    assert {
        "train.py",
        "ablation/training.py",
        "ablation/models.py",
        "ablation/pipeline.py",
    } <= files
    assert "ablation/plotting.py" not in files and "ablation/judging.py" not in files


def test_the_identity_file_is_rewritten_only_when_the_code_changed(tmp_path):
    scripts = tmp_path / "scripts"
    library = scripts / "ablation"
    library.mkdir(parents=True)
    (library / "__init__.py").write_text("")
    (library / "helper.py").write_text(SOURCE)
    (scripts / "job.py").write_text("from ablation import helper\nhelper.loss(1)\n")
    out = tmp_path / "code" / "job.txt"
    code.code_identity(scripts / "job.py", library, scripts, out)
    assert "ablation/helper.py " in out.read_text()
    os.utime(out, ns=(1, 1))
    (library / "helper.py").write_text(SOURCE + "# a comment\n")
    code.code_identity(scripts / "job.py", library, scripts, out)
    assert out.stat().st_mtime_ns == 1  # left alone: Snakemake sees nothing new
    (library / "helper.py").write_text(SOURCE.replace("x * 2", "x * 3"))
    before = out.read_text()
    code.code_identity(scripts / "job.py", library, scripts, out)
    assert out.read_text() != before and out.stat().st_mtime_ns != 1


def test_what_only_the_snakefile_runs_is_in_no_jobs_code_identity():
    """The study's loading, the lines a stopped run prints, the provenance records
    and the SLURM hook run in Snakemake's process alone: out of every job's code
    identity, a change there reruns nothing, so code of that kind belongs there. (A
    refusal class once put in errors.py, which every job imports, would have
    retrained every finished study; that a module jobs import is changed only for
    what jobs run is a reviewer's check, not this test's.)"""
    import re

    snakefile_only = {f"ablation/{name}.py" for name in
                      ("loading", "run_state", "provenance", "slurm_status", "study",
                       "refactors")}  # fmt: skip
    rules = (SCRIPTS.parents[0] / "rules").glob("*.smk")
    scripts = {s for r in rules for s in re.findall(r'"\.\./scripts/(\w+\.py)"', r.read_text())}
    assert {"train.py", "evaluate.py", "split.py", "report.py"} <= scripts
    for script in scripts:
        files = {p.relative_to(SCRIPTS).as_posix() for p in code.closure(SCRIPTS / script, LIBRARY)}
        assert not files & snakefile_only, (script, files & snakefile_only)
