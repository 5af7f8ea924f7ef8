"""Config checks: one-line messages for schema errors, and what a schema cannot say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ArchitectureError
from .models import feature_map_sizes


class ConfigError(ValueError):
    """The config is wrong; the message names the key."""


def key_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def describe_schema_error(error) -> str:
    """A jsonschema ValidationError as 'config: <key>: <what is wrong>'."""
    where = key_path(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in allowed]
        prefix = "" if where == "(top level)" else f"{where}."
        return (
            f"config: {prefix}{unknown[0]}: unknown key"
            + (f" (allowed here: {', '.join(allowed)})" if allowed else "")
        )
    if "propertyNames" in error.absolute_schema_path:
        return (
            f"config: {where}: {error.instance!r} is not a valid name: use letters, digits, "
            "'_' and '-', starting with a letter or digit (it becomes a folder under results/)"
        )
    if error.validator == "oneOf" and error.schema.get("description"):
        return f"config: {where}: {error.instance!r} is not valid: {error.schema['description']}"
    return f"config: {where}: {error.message}"


def schema_error_from(exc: BaseException):
    """The jsonschema error inside Snakemake's 'Error validating config file.'"""
    import jsonschema

    seen = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, jsonschema.ValidationError):
            # "not valid under any of the given schemas" names no reason: take the
            # alternative that came closest (e.g. the list, for a list of seeds).
            return jsonschema.exceptions.best_match([current])
        todo.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
    return None


def check_config(config: dict[str, Any]) -> None:
    """Checks beyond the JSON schema, each naming the offending key."""
    for name, arch in config["variants"].items():
        try:
            feature_map_sizes(arch)
        except ArchitectureError as exc:
            raise ConfigError(f"config: variants.{name}.{exc}") from None
    for i, comp in enumerate(config.get("comparisons", [])):
        for key in ("variant", "against"):
            if comp[key] not in config["variants"]:
                raise ConfigError(
                    f"config: comparisons[{i}].{key}: {comp[key]!r} is not a variant "
                    f"(variants: {', '.join(config['variants'])})"
                )
    local = config["data"].get("local_path")
    if local and not Path(local).is_file():
        raise ConfigError(f"config: data.local_path: file not found: {local}")
