# Helpers shared by the rules: paths, the checks the schema cannot express, and
# the library files each rule's script imports.

import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

# Files of the workflow itself, found from the Snakefile wherever the run's
# working directory is.
WORKFLOW_DIR = Path(workflow.basedir) / "workflow"
SCRIPTS = WORKFLOW_DIR / "scripts"
# The library under workflow/scripts is importable here too, for its checks.
sys.path.insert(0, str(SCRIPTS))

from ablation import models  # noqa: E402

VARIANTS = list(config["variants"])
SEEDS = list(config["seeds"])
DATASET = config["data"]["name"]
RUN = "results/{variant}/seed{seed}"
COMPARISON_METRICS = ["loss", "accuracy", "val_loss", "val_accuracy"]


def check_config(config):
    """Checks beyond the JSON schema; each error names the offending key."""
    for name, arch in config["variants"].items():
        try:
            models.feature_map_sizes(arch)
        except models.ArchitectureError as exc:
            raise WorkflowError(f"config: variants.{name}.{exc}") from None
    for i, comp in enumerate(config["comparisons"]):
        for key in ("variant", "against"):
            if comp[key] not in config["variants"]:
                raise WorkflowError(
                    f"config: comparisons[{i}].{key}: {comp[key]!r} is not a variant "
                    f"(variants: {', '.join(config['variants'])})"
                )
    local = config["data"]["local_path"]
    if local and not Path(local).is_file():
        raise WorkflowError(f"config: data.local_path: file not found: {local}")


check_config(config)


wildcard_constraints:
    variant="|".join(re.escape(v) for v in VARIANTS),
    seed=r"\d+",


def library(*modules):
    """The library files a script imports: Snakemake tracks a script's own text,
    not what it imports, so these are declared as inputs to rerun on change."""
    return [str(SCRIPTS / "ablation" / f"{m}.py") for m in ("__init__", "atomic", "joblog", *modules)]


def arch(variant):
    """The full architecture of a variant, defaults filled in by the schema."""
    return {k: config["variants"][variant][k] for k in models.ARCHITECTURE_KEYS}


def runs(variants=None):
    """(variant, seed) of every training run, in config order."""
    return [{"variant": v, "seed": s} for v in (variants or VARIANTS) for s in SEEDS]


def run_files(name, variants=None):
    return [f"results/{r['variant']}/seed{r['seed']}/{name}" for r in runs(variants)]
