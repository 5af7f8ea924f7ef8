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
import dataclasses
import functools
import hashlib
import json
import sys
import types
from pathlib import Path
from typing import Any, Iterable, Sequence

from . import atomic

PACKAGE = "ablation"


# Words for the reader in the figures' registry (ablation/figures.py): not what a
# job computes. The jobs that show them take them as params (each figure's rule its
# caption, the report all of them), so a caption's edit redraws that figure alone.
READER_WORDS = {"Figure": ("alt", "caption")}


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            words = READER_WORDS.get(node.func.id, ())
            node.keywords = [k for k in node.keywords if k.arg not in words]
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


def code_identity(
    script: Path, package_dir: Path, relative_to: Path, out: Path, definition: Sequence[str] = ()
) -> Path:
    """Write ``identity`` and the rule's ``definition`` lines to ``out`` where they
    differ from what is there (a file left as it is keeps its date); return ``out``."""
    text = identity(script, package_dir, relative_to)
    if definition:
        text += "# The rule as declared: each input, output and param by its role.\n"
        text += "".join(f"{line}\n" for line in definition)
    if not out.is_file() or out.read_text(encoding="utf-8") != text:
        atomic.write_text(out, text)
    return out


def rule_definition(items: Iterable[tuple[str, str | None, Any]]) -> list[str]:
    """One line per (kind, name, value) of a rule's declaration: which file or value
    plays which role. Snakemake compares a job's inputs and params as sets, so two
    inputs swapped, or a param moved to another name, go unseen; here they change
    the identity. A function (an input or params function) stands as its code."""
    return [f"{kind} {name or '-'}: {_declared(value)}" for kind, name, value in items]


def _declared(value) -> str:
    # A function Snakemake wraps (an input function, flagged by unpack()): the function.
    value = getattr(getattr(value, "_file", value), "callable", None) or value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = (
            f"{f.name}={_declared(getattr(value, f.name))}" for f in dataclasses.fields(value)
        )
        return f"{type(value).__name__}({', '.join(fields)})"
    if callable(value) and hasattr(value, "__code__"):
        defaults = [_declared(d) for d in (value.__defaults__ or ())]
        return f"function {_code_hash(value.__code__)} defaults {defaults}"
    if callable(value):  # no code of its own to read: refuse rather than guess
        raise TypeError(f"a rule declares {value!r}, which has no code to identify")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_declared(v) for v in value) + "]"
    if isinstance(value, (dict, bool, int, float, type(None))):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _code_hash(co: types.CodeType) -> str:
    """A function's code by what it does: its bytecode, names and constants (nested
    functions the same way), not its file or line."""
    consts = [
        _code_hash(c) if isinstance(c, types.CodeType)
        else repr(sorted(map(repr, c))) if isinstance(c, frozenset)  # no hash-seed order
        else repr(c)
        for c in co.co_consts
    ]  # fmt: skip
    parts = [co.co_code.hex(), co.co_names, co.co_varnames, co.co_freevars, consts]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def unseen_modules(identity_file: str | Path) -> list[str]:
    """The library modules this process has loaded that the job's code identity
    (``identity_file``, as ``identity`` wrote it) does not list: loaded some way
    the identity cannot follow (importlib, __import__), so a change to them would
    rerun nothing."""
    lines = Path(identity_file).read_text(encoding="utf-8").splitlines()
    listed = {line.split()[0] for line in lines if line and not line.startswith("#")}
    loaded = [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]
    paths = {
        name: f"{PACKAGE}/__init__.py" if name == PACKAGE else f"{PACKAGE}/{name.split('.')[1]}.py"
        for name in loaded
    }
    return sorted(path for path in paths.values() if path not in listed)
