"""report.md rendered from its context with Jinja2 (the template's filters), and
as one self-contained HTML page for Snakemake's --report."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from .metrics import METRICS


def _metric(value, metric: str, signed: bool = False) -> str:
    """A value of ``metric`` as the report shows it (accuracies in pp)."""
    return METRICS[metric].format(value, signed)


def _num(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def data_uri(path) -> str:
    """A file as a data: URI, so a page that shows it needs nothing beside it."""
    import base64
    import mimetypes

    mime = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode()}"


def html_page(markdown_text: str, base_dir, title: str) -> str:
    """report.md as one self-contained HTML page (figures embedded), for Snakemake's
    HTML report, where report.md's relative figure links do not resolve."""
    import html

    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code"])
    body = re.sub(
        r'<img alt="([^"]*)" src="([^"]+)"',
        lambda m: f'<img alt="{m[1]}" src="{data_uri(Path(base_dir) / html.unescape(m[2]))}"',
        body,
    )
    style = (
        "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "line-height:1.45}img{max-width:100%}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2rem .5rem}pre{background:#f6f6f6;padding:.5rem;"
        "overflow-x:auto}blockquote{border-left:4px solid #ccc;margin-left:0;padding-left:1rem}"
    )
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{style}</style></head><body>\n{body}\n</body></html>\n"
    )


def render(template_path, context: dict[str, Any]) -> str:
    import jinja2

    template_path = Path(template_path)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_path.parent),
        undefined=jinja2.StrictUndefined,  # a misspelt name fails instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _num
    # A value of a metric, as that metric is shown: `x | metric("test_loss")`.
    env.filters["metric"] = _metric
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    env.filters["rst_title"] = lambda title: f"{title}\n{'=' * len(title)}"
    return env.get_template(template_path.name).render(**context)
