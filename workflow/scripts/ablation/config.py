"""Config checks: one-line messages for schema errors, and what a schema cannot say."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Mapping

from .datasets import dataset_spec
from .errors import ArchitectureError, DataError
from .models import feature_map_sizes
from .splits import image_counts


class ConfigError(ValueError):
    """The config is wrong; the message names the key."""


# Every default of the config lives here, nowhere else.
SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


def read_config(path) -> dict[str, Any]:
    """A study file alone (config.yaml), checked as the Snakefile checks it: the
    study as code run outside the workflow (benchmarks, tests) sees it."""
    return checked(check_yaml_file(path))


def checked(config: dict[str, Any]) -> dict[str, Any]:
    """The whole study checked, in one pass, before anything is derived from it
    (ablation/study.py): bases resolved (a variant is then whole), the schema (the
    first error in one line), Snakemake's validate (the schema's defaults filled
    in), the checks the schema cannot make (check_config); then normalized (keys
    sorted: a result's identity is the study's meaning). In place, and returned.
    Raises ConfigError naming the file, key or value at fault."""
    from snakemake.utils import validate

    resolve_bases(config)
    check_schema(config, SCHEMA)
    validate(config, str(SCHEMA))
    check_config(config)
    normalize(config)
    return config


def normalize(config: dict[str, Any]) -> None:
    """The study by its meaning, in place: every mapping's keys sorted, at any depth,
    but the order of the variants (the report's order) and of lists. Key order in a
    study file, or a line left out where it held the default (the schema fills it
    in), then changes no params, so it retrains nothing."""

    def ordered(value, keep_order=False):
        if isinstance(value, dict):
            keys = list(value) if keep_order else sorted(value)
            return {k: ordered(value[k]) for k in keys}
        if isinstance(value, list):
            return [ordered(v) for v in value]
        return value

    normalized = {
        key: ordered(value, keep_order=key == "variants") for key, value in config.items()
    }
    config.clear()
    config.update(dict(sorted(normalized.items())))


def describe_schema_error(error) -> str:
    """A jsonschema ValidationError as 'config: <key>: <what is wrong>'."""
    where = error.json_path.removeprefix("$").removeprefix(".") or "(top level)"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in allowed]
        prefix = "" if where == "(top level)" else f"{where}."
        return f"config: {prefix}{unknown[0]}: unknown key" + (
            f" (allowed here: {', '.join(allowed)})" if allowed else ""
        )
    if "propertyNames" in error.absolute_schema_path:
        return (
            f"config: {where}: {error.instance!r} is not a valid name: use letters, digits, "
            "'_' and '-', starting with a letter or digit (it becomes a folder under results/)"
        )
    if error.validator == "oneOf" and error.schema.get("description"):
        return f"config: {where}: {error.instance!r} is not valid: {error.schema['description']}"
    return f"config: {where}: {error.message}"


def check_yaml_file(path) -> dict[str, Any]:
    """A YAML syntax error or a duplicate key, named by file and line (YAML keeps
    the last of two equal keys without a word), or a file that is not a mapping of
    config keys; returns the mapping ({} for a file of comments only)."""
    import yaml

    class UniqueKeys(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ConfigError(f"{path}:{line}: duplicate key {key!r}")
            seen.add(key)
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        with open(path, encoding="utf-8") as f:
            loader = UniqueKeys(f)  # a SafeLoader: plain data only
            try:
                data = loader.get_single_data()
            finally:
                loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: {exc.problem or exc.context}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: a study file is a mapping of config keys, not {data!r}")
    return data or {}


# Sets a study file replaces whole instead of merging into config.yaml's.
REPLACED_SETS = ("variants", "comparisons")


def study_files_in(folder) -> list[str]:
    """The names of the study files in ``folder`` (config/NAME.yaml -> NAME)."""
    return sorted(p.stem for p in Path(folder).glob("*.yaml"))


def replace_sets(config: dict[str, Any], study: Mapping[str, Any]) -> None:
    """Snakemake merges a study file's mappings (``study``, as check_yaml_file read
    it) into config.yaml's: a study naming its own variants would get the default
    ones too. Those sets are replaced."""
    for key in REPLACED_SETS:
        if key in study:
            config[key] = study[key]


def from_command_line(config: dict[str, Any], given: Mapping[str, Any], schema_path) -> None:
    """Values given with --config take the types the schema declares for their keys.

    Snakemake reads a nested `--config 'training={epochs: 2}'` as strings ('2'), and
    a top-level `seeds=[1,2]` as ['1', '2']. Every string given on the command line,
    at any depth, is converted to what the schema allows there (null, boolean,
    integer, number, a list of them, or a string it allows as it is); one that
    cannot be is an error naming the key. ``given``: the --config values alone."""
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))

    def merge(into: dict, typed: dict) -> None:  # as Snakemake merged the strings
        for key, value in typed.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value

    top = schema["properties"]
    merge(
        config, {key: _typed(value, top.get(key, {}), schema, key) for key, value in given.items()}
    )


# A string's reading as each JSON Schema type, None where it has none.
_READINGS = {
    "null": lambda s: (None,) if s.strip() in ("", "null", "~") else None,
    "boolean": lambda s: (
        ({"true": True, "false": False}.get(s.strip().lower()),)
        if s.strip().lower() in ("true", "false")
        else None
    ),
    "integer": lambda s: (int(s),) if re.fullmatch(r"\s*[-+]?\d+\s*", s) else None,
    "number": lambda s: (float(s),) if _is_number(s) else None,
}
_TYPE_WORDS = {
    "null": "null", "boolean": "true or false", "integer": "an integer", "number": "a number",
    "string": "a string", "array": "a list", "object": "a mapping",
}  # fmt: skip


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:  # only local references: #/$defs/name
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]] | {
            k: v for k, v in schema.items() if k != "$ref"
        }
    return schema


def _typed(value, schema: Mapping[str, Any], root: Mapping[str, Any], where: str):
    """``value`` as the schema at ``where`` reads it."""
    schema = _resolve(schema, root)
    if isinstance(value, dict):
        extra = schema.get("additionalProperties")
        keys = schema.get("properties", {})
        extra = extra if isinstance(extra, dict) else {}
        return {k: _typed(v, keys.get(k, extra), root, f"{where}.{k}") for k, v in value.items()}
    alternatives = [_resolve(a, root) for a in schema.get("oneOf", schema.get("anyOf", []))]
    expected = []
    for alt in alternatives or [schema]:
        if "const" in alt and str(value) == str(alt["const"]):
            return alt["const"]
        types = alt.get("type", [])
        types = [types] if isinstance(types, str) else list(types)
        if isinstance(value, list):
            if "array" in types:
                items = alt.get("items", {})
                return [_typed(v, items, root, f"{where}[{i}]") for i, v in enumerate(value)]
        elif not isinstance(value, str) or not types or "enum" in alt and value in alt["enum"]:
            return value  # already typed, or nothing to convert to: the schema judges
        else:
            for name in ("null", "boolean", "integer", "number"):
                reading = _READINGS[name](value) if name in types else None
                if reading is not None:
                    return reading[0]
            if "string" in types:
                return value
        expected += [_TYPE_WORDS.get(t, t) for t in types if _TYPE_WORDS.get(t, t) not in expected]
        if "const" in alt:
            expected.append(repr(alt["const"]))
    raise ConfigError(
        f"config: {where}: {value!r} (given with --config) is not {' or '.join(expected)}"
    )


def check_schema(config: dict[str, Any], schema_path) -> None:
    """The config against the schema, the first error in one line, before
    Snakemake's validate() fills in the defaults (its errors take many lines).
    Integers must be ints: JSON Schema counts 2.0 as one, TensorFlow and paths do
    not (an epoch count of 2.0 fails inside training, a seed of 1.0 names a folder
    seed1.0)."""
    import jsonschema
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))
    base = jsonschema.Draft202012Validator
    strict = jsonschema.validators.extend(
        base,
        type_checker=base.TYPE_CHECKER.redefine(
            "integer", lambda _, x: isinstance(x, int) and not isinstance(x, bool)
        ),
    )
    error = jsonschema.exceptions.best_match(strict(schema).iter_errors(config))
    if error is not None:
        raise ConfigError(describe_schema_error(error))


def resolve_bases(config: dict[str, Any]) -> None:
    """Each variant with a `base:` becomes its base's keys with its own over them
    (`training:` merged key by key), following chains; `base` is kept, naming what
    the variant is an ablation of. Before the schema check, which then sees every
    variant whole. An unknown base or a cycle is an error naming the variant."""
    variants = config.get("variants")
    if not isinstance(variants, dict):
        return  # the schema says what is wrong
    resolved: dict[str, dict] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> dict:
        if name in resolved:
            return resolved[name]
        own = variants[name]
        if not isinstance(own, dict) or "base" not in own:
            resolved[name] = own
            return own
        base = own["base"]
        where = f"config: variants.{name}.base"
        if not isinstance(base, str) or base not in variants:
            raise ConfigError(
                f"{where}: {base!r} is not a variant (variants: {', '.join(variants)})"
            )
        if base in chain:
            cycle = " -> ".join((*chain[chain.index(base) :], base))
            raise ConfigError(f"{where}: {base!r} makes a cycle: {cycle}")
        parent = resolve(base, (*chain, base))
        if not isinstance(parent, dict):
            raise ConfigError(f"{where}: {base!r} is not a mapping of keys")
        merged = {**parent, **own}
        if isinstance(parent.get("training"), dict) and isinstance(own.get("training"), dict):
            merged["training"] = {**parent["training"], **own["training"]}
        resolved[name] = merged
        return merged

    for name in list(variants):
        variants[name] = resolve(name, (name,))


# Folders of results/ beside the variants' own (results/{variant}/).
RESULTS_FOLDERS = (
    "benchmarks", "checkpoints", "code", "comparison", "data", "logs", "sequential", "tensorboard",
)  # fmt: skip


def check_config(config: Mapping[str, Any]) -> None:
    """Checks beyond the JSON schema, each naming the offending key."""
    try:
        spec = dataset_spec(config["data"]["name"])
    except DataError as exc:
        raise ConfigError(f"config: {exc}") from None
    for name, arch in config["variants"].items():
        if name in RESULTS_FOLDERS:
            raise ConfigError(
                f"config: variants.{name}: results/{name}/ holds the study's {name} files; "
                "give the variant another name"
            )
        try:
            feature_map_sizes(arch, spec.image_shape)
        except ArchitectureError as exc:
            raise ConfigError(f"config: variants.{name}.{exc}") from None
    for i, comp in enumerate(config.get("comparisons", [])):
        for key in ("variant", "against"):
            if comp[key] not in config["variants"]:
                raise ConfigError(
                    f"config: comparisons[{i}].{key}: {comp[key]!r} is not a variant "
                    f"(variants: {', '.join(config['variants'])})"
                )
        if comp["variant"] == comp["against"]:
            raise ConfigError(
                f"config: comparisons[{i}]: {comp['variant']!r} is compared with itself"
            )
    check_split(config, spec)
    if config["seeds"] == "auto":
        check_sequential(config)
    local = config["data"].get("local_path")
    if local and not Path(local).is_file():
        raise ConfigError(f"config: data.local_path: file not found: {local}")


def check_sequential(config: dict[str, Any]) -> None:
    """A sequential design that can take its looks: a cap at or past the first look,
    and comparisons to decide."""
    design = config["sequential"]
    if design["cap"] < design["first_look"]:
        raise ConfigError(
            f"config: sequential.cap: {design['cap']} is below sequential.first_look "
            f"({design['first_look']}): the cap is the last look"
        )
    if not config.get("comparisons"):
        raise ConfigError(
            "config: seeds: 'auto' adds seeds until each comparison is decided, and "
            "`comparisons` is empty"
        )


def check_split(config: dict[str, Any], spec) -> None:
    """Limits within the dataset, and train and validation sets both non-empty,
    computed as the split job will (Keras: the first int(n * (1 - f)) images train)."""
    split = config["split"]
    for key, available in (("train_limit", spec.n_train), ("test_limit", spec.n_test)):
        if split.get(key) is not None and split[key] > available:
            raise ConfigError(
                f"config: split.{key}: {split[key]} is more than the {available:,} "
                f"images {spec.title} has"
            )
    counts = image_counts(spec.n_train, spec.n_test, split["validation_fraction"],
                          split.get("train_limit"), split.get("test_limit"))  # fmt: skip
    if not counts["train"] or not counts["validation"]:
        raise ConfigError(
            f"config: split.validation_fraction: {split['validation_fraction']} of "
            f"{counts['train'] + counts['validation']:,} images leaves {counts['train']:,} for "
            f"training and {counts['validation']:,} for validation; both need at least one"
        )
