"""The plugin's own status query, fed sacct's answer for a cancelled job."""

import asyncio
import logging
import shlex

import snakemake_executor_plugin_slurm as plugin

from ablation import slurm_status

# What sacct --parsable2 --format=JobIdRaw,State prints with accounting.
SACCT = "41|CANCELLED by 1000\n42|RUNNING\n43|COMPLETED\n44|PREEMPTED\n"
COMMAND = f"printf {shlex.quote(SACCT)}"


def query(function):
    states, _ = asyncio.run(function(COMMAND, logging.getLogger("test")))
    return states


def test_cancelled_by_a_user_is_a_failed_state_once_patched(monkeypatch):
    original = plugin.query_job_status
    # Without the patch the plugin sees a state it does not know, and waits on it.
    assert query(original)["41"] == "CANCELLED by 1000"
    monkeypatch.setattr(plugin, "query_job_status", original)
    assert slurm_status.accept_cancelled_by()
    assert slurm_status.accept_cancelled_by(), "applying it twice wraps it once"
    patched = plugin.query_job_status
    assert patched is not original and patched.__wrapped__ is original
    assert query(patched) == {
        "41": "CANCELLED",
        "42": "RUNNING",
        "43": "COMPLETED",
        "44": "PREEMPTED",
    }


def test_a_failed_query_stays_a_failed_query():
    assert slurm_status.first_word(None) is None
    assert slurm_status.first_word({"7": ""}) == {"7": ""}
