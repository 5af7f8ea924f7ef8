"""A single-node SLURM cluster for the tests, from Debian's packages.

Everything lives in one temporary folder: munge's key and socket, slurm.conf,
gres.conf (fake GPUs on /dev/null, /dev/zero, ...), state and logs. The daemons run in the
foreground as child processes and are stopped by PID. Nothing under /etc is
touched: SLURM_CONF points at the folder, and because the SLURM jobstep plugin
clears every SLURM_* variable before it calls srun, an srun wrapper first on PATH
sets it again.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "srun", "scontrol", "sinfo")


def missing_binaries() -> list[str]:
    found = {
        name: shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
        for name in DAEMONS + CLIENTS
    }
    return [name for name, path in found.items() if not path]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mem_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


class SlurmCluster:
    def __init__(self, root: Path, select: str = "cons_tres", gpus: int = 2):
        self.root = root
        self.select = select  # cons_tres knows --gpus; cons_res only --gres
        self.gpus = gpus
        self.host = socket.gethostname().split(".")[0]
        self.cpus = os.cpu_count() or 1
        self.conf = root / "slurm.conf"
        self.bin = root / "bin"
        self.processes: list[subprocess.Popen] = []

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, SLURM_CONF=str(self.conf), PATH=f"{self.bin}:{os.environ['PATH']}")

    def _write_config(self) -> None:
        r = self.root
        for d in ("state", "spool", "logs", "bin"):
            (r / d).mkdir(parents=True, exist_ok=True)
        key = r / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        # Memory: leave a margin for the OS; DefMemPerCPU lets jobs without --mem run.
        memory = max(2000, _mem_mb() - 2000)
        self.conf.write_text(f"""\
ClusterName=ablationtest
SlurmctldHost={self.host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={r}/munge.sock
# No systemd, no cgroups: track processes by /proc, bind no tasks.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/{self.select}
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
DefMemPerCPU=1000
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# Finished jobs stay visible to squeue and scontrol (no accounting database).
MinJobAge=3600
ReturnToService=2
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/logs/slurmctld.log
SlurmdLogFile={r}/logs/slurmd.log
NodeName={self.host} CPUs={self.cpus} RealMemory={memory} Gres=gpu:{self.gpus} State=UNKNOWN
PartitionName=cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=ALL MaxTime=INFINITE State=UP
""")
        # Fake GPUs: without File= the node is marked INVALID; each needs its own.
        devices = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random")[: self.gpus]
        (r / "gres.conf").write_text(
            "AutoDetect=off\n" + "".join(f"Name=gpu File={d}\n" for d in devices)
        )
        srun = self.bin / "srun"
        srun.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {shutil.which("srun")} "$@"\n')
        srun.chmod(0o755)

    def _spawn(self, *cmd: str) -> None:
        log = open(self.root / "logs" / f"{Path(cmd[0]).name}.out", "w")
        self.processes.append(
            subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        )

    def start(self, timeout: float = 60) -> "SlurmCluster":
        self._write_config()
        r = self.root
        sbin = "/usr/sbin:/sbin:" + os.environ["PATH"]
        self._spawn(
            shutil.which("munged", path=sbin), "--foreground", "--force",
            f"--socket={r}/munge.sock", f"--key-file={r}/munge.key",
            f"--log-file={r}/logs/munged.log", f"--pid-file={r}/munged.pid",
            f"--seed-file={r}/munged.seed",
        )  # fmt: skip
        self._wait(lambda: (r / "munge.sock").exists(), timeout, "munged's socket")
        self._spawn(shutil.which("slurmctld", path=sbin), "-D", "-f", str(self.conf))
        self._spawn(shutil.which("slurmd", path=sbin), "-D", "-f", str(self.conf))
        self._wait(self._node_idle, timeout, "the node to become idle")
        return self

    def _node_idle(self) -> bool:
        done = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=self.env
        )
        return (
            done.returncode == 0
            and done.stdout.split()
            and all(s.startswith("idle") for s in done.stdout.split())
        )

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            for p in self.processes:
                if p.poll() is not None:
                    raise RuntimeError(f"{p.args[0]} exited with {p.returncode} waiting for {what}")
            time.sleep(0.5)
        raise TimeoutError(f"timed out waiting for {what}; logs in {self.root / 'logs'}")

    def job(self, job_id: str) -> dict[str, str]:
        """``scontrol show job`` as a dict of its Key=Value fields."""
        out = subprocess.run(
            ["scontrol", "show", "job", "-o", job_id],
            capture_output=True, text=True, env=self.env, check=True,
        ).stdout  # fmt: skip
        return dict(field.split("=", 1) for field in out.split() if "=" in field)

    def stop(self) -> None:
        for p in reversed(self.processes):
            if p.poll() is None:
                p.terminate()
        for p in reversed(self.processes):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.processes.clear()


def started_cluster(root: Path, **settings):
    """A started SlurmCluster, stopped when the generator closes (a pytest fixture's
    body). Skipped where SLURM is absent, failed in CI, where .ci/run installs it."""
    import pytest

    missing = missing_binaries()
    if missing:
        reason = (
            f"SLURM is not installed (missing {', '.join(missing)}); "
            "apt-get install slurmctld slurmd slurm-client munge"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = SlurmCluster(root, **settings)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
