"""A cancelled SLURM job ends the run instead of being waited on forever.

With accounting, ``sacct`` reports a job cancelled by a user or an admin as
``CANCELLED by <uid>``. snakemake-executor-plugin-slurm (2.8.0) matches job states
as whole strings, finds that one in neither its finished nor its failed list, and
keeps polling the job as if it were running: the run never ends. Every other
SLURM state is one word, so keeping the first word is the fix (the one the older
Snakemake-Profiles/slurm status script made, its pull request 22); applied around
the plugin's status query from the Snakefile (which only the slurm executor calls).
"""

from __future__ import annotations

import functools


def first_word(states: dict[str, str] | None) -> dict[str, str] | None:
    """``{"12": "CANCELLED by 1000"}`` -> ``{"12": "CANCELLED"}``."""
    if states is None:
        return None
    return {job: state.split()[0] if state.strip() else state for job, state in states.items()}


def accept_cancelled_by() -> bool:
    """Wrap the plugin's status query; False where the plugin is not installed."""
    try:
        import snakemake_executor_plugin_slurm as plugin
    except ImportError:
        return False
    query = plugin.query_job_status
    if getattr(query, "keeps_first_word", False):
        return True

    @functools.wraps(query)
    async def query_first_word(command, logger):
        states, seconds = await query(command, logger)
        return first_word(states), seconds

    query_first_word.keeps_first_word = True
    plugin.query_job_status = query_first_word
    return True
