"""Which code a job runs, by content: a rule reruns when that code changes, not when
a file is touched, copied or commented.

Snakemake judges a rule's script by its date (a newer script reruns every job of
the rule) and knows nothing of the modules it imports. Here each rule script's
identity is its source and that of every library module it imports, directly or
not, each normalized to its syntax tree without comments, docstrings or layout:
``code_identity`` writes it to a small file that the rule takes as an input, only
when it changed, so Snakemake (which compares small files by content) reruns the
rule's jobs exactly when what they run changed.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

from . import atomic

PACKAGE = "ablation"


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


def normalized(source: str) -> str:
    """The syntax tree of ``source`` without docstrings, as text: comments,
    blank lines, formatting and docstrings do not change it."""
    return ast.dump(_without_docstrings(ast.parse(source)), include_attributes=False)


def _imports(tree: ast.AST, path: Path, package_dir: Path) -> set[Path]:
    """The library modules a file imports itself (``from ablation import x``,
    ``from ablation.x import y``, ``import ablation.x``, and inside the library
    ``from . import x`` and ``from .x import y``)."""
    inside = path.parent == package_dir
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == 1 and inside:
                names = [base] if base else [a.name for a in node.names]
            elif node.level == 0 and base == PACKAGE:
                names = [a.name for a in node.names]
            elif node.level == 0 and base.startswith(f"{PACKAGE}."):
                names = [base.split(".")[1]]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names if a.name.startswith(f"{PACKAGE}.")]
        found |= {package_dir / f"{n}.py" for n in names if (package_dir / f"{n}.py").is_file()}
    return found


def _facts(path: Path, package_dir: Path) -> tuple[frozenset[Path], str]:
    """The modules ``path`` imports and the SHA-256 of its normalized source, read
    and parsed once per version of the file (every rule's identity shares them)."""
    stat = path.stat()
    return _facts_of(path, package_dir, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=None)
def _facts_of(path: Path, package_dir: Path, mtime_ns: int, size: int):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imports = frozenset(_imports(tree, path, package_dir))
    text = ast.dump(_without_docstrings(tree), include_attributes=False)
    return imports, hashlib.sha256(text.encode()).hexdigest()


def closure(script: Path, package_dir: Path) -> list[Path]:
    """``script`` and every library module it runs, directly or through others."""
    seen, todo = {package_dir / "__init__.py"}, [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(_facts(path, package_dir)[0] - seen)
    return sorted(seen | {script})


def identity(script: Path, package_dir: Path, relative_to: Path) -> str:
    """One line per file a job of ``script`` runs: its path and the SHA-256 of its
    normalized source."""
    lines = [
        "# The code a job of this rule runs, each file's syntax without comments,",
        "# docstrings or layout (workflow/scripts/ablation/code.py). The job reruns",
        "# when a line changes.",
    ]
    for path in closure(script, package_dir):
        lines.append(f"{path.relative_to(relative_to)} {_facts(path, package_dir)[1]}")
    return "\n".join(lines) + "\n"


def code_identity(script: Path, package_dir: Path, relative_to: Path, out: Path) -> Path:
    """Write ``identity`` to ``out`` where it differs from what is there (a file
    left as it is keeps its date); return ``out``."""
    text = identity(script, package_dir, relative_to)
    if not out.is_file() or out.read_text(encoding="utf-8") != text:
        atomic.write_text(out, text)
    return out
