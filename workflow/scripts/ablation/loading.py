"""The study a run was asked for, read once while the Snakefile is read: config.yaml,
the named study's file (`--config study=NAME`: config/NAME.yaml) and --configfile
files over it, --config values typed by the schema, bases resolved, checked, the
schema's defaults filled in, normalized (config.checked: every check, in one
pass); then the Study every rule reads, derived from it. A mistake stops the run
before any job in one line naming the file and line, or the key."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from . import atomic
from .config import (
    SCHEMA,
    ConfigError,
    check_yaml_file,
    checked,
    from_command_line,
    replace_sets,
    study_files_in,
)
from .run_state import Refusal
from .study import Study


@dataclass(frozen=True)
class StudyFiles:
    """Every study file of the run, in the order merged, with its keys (checked as
    YAML), and the named study's file where it changes something (a file of
    comments only changes nothing, and Snakemake refuses it as a config)."""

    keys: dict[str, dict[str, Any]]
    named: str | None


def study_files(workflow) -> StudyFiles:
    """A study named with --config has a file in config/ (never a path such as ../x:
    a misspelt name would otherwise train config.yaml's study under a new folder).
    Files are checked here, so that a mistake is one line naming file and line
    (Snakemake reads --configfile files before the Snakefile, and names neither)."""
    name = workflow.config_settings.config.get("study")
    named = f"config/{name}.yaml" if name else None
    if name and name not in study_files_in("config"):
        raise Refusal(
            f"config: study: {name!r} (given with --config) has no study file {named} "
            f"(study files: {', '.join(study_files_in('config')) or 'none'})"
        )
    files = ["config.yaml", *([named] if named else []), *workflow.config_settings.configfiles]
    try:
        keys = {path: check_yaml_file(path) for path in files}
    except ConfigError as exc:
        raise Refusal(str(exc)) from None
    return StudyFiles(keys=keys, named=named if named and keys[named] else None)


def load_study(workflow, config: dict[str, Any], files: StudyFiles) -> Study:
    """The study of ``config`` (Snakemake's, config.yaml and the named study's file
    already in it): a study file naming `variants` or `comparisons` replaces that set
    rather than adding to it; then checked and described once (ablation/study.py)."""
    for path in list(files.keys)[1:]:
        replace_sets(config, files.keys[path])
    refuse_a_full_disk(workflow)
    try:
        from_command_line(config, workflow.config_settings.config, SCHEMA)
        return Study.from_config(checked(config))
    except ConfigError as exc:
        raise Refusal(str(exc)) from None


def refuse_a_full_disk(workflow) -> None:
    """A disk already full stops the run here, in one line, not in Snakemake's lock
    file. Snakemake's own log file cannot be written either: closed, so that this
    line is all that is printed."""
    if not workflow.is_main_process or atomic.has_room("."):
        return
    for handler in list(workflow.logger_manager.logfile_handlers):
        workflow.logger_manager.logger.removeHandler(handler)
        handler.close()
    raise Refusal(
        f"no space left on the disk of {os.getcwd()} (less than 1 MB free): free some "
        "and run again; nothing was changed"
    )
