"""What the SLURM cluster itself says, asked the way a user would (`sinfo`, `squeue`, `sacct`):
whether a job's request can be met by any node of its partition, before anything is submitted,
and where a submitted job stands while the sweep waits for it (pending, and why; gone from the
queue; accounting unreachable). Each answer is plain data; `launcher.py` decides what to say."""

from __future__ import annotations

import subprocess
from typing import NamedTuple

from fcn_ablation.errors import ConfigError


def _run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess | None:
    """A SLURM client's answer, or None where the client is missing or hangs."""
    try:
        return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None


class Node(NamedTuple):  # not a dataclass: Hydra's plugin scan runs this module outside sys.modules
    cpus: int
    memory_mb: int
    gres: str  # "(null)", "gpu:4", "gpu:a100:8(S:0-1)", ...

    @property
    def gpus(self) -> int:
        total = 0
        for part in self.gres.split(","):
            fields = part.split("(")[0].split(":")
            if fields[0] == "gpu":
                total += int(fields[-1]) if fields[-1].isdigit() else 1
        return total


def partition_nodes(partition: str | None) -> tuple[str, list[Node]] | None:
    """(the partition's name, its nodes) as `sinfo` lists them, the default partition when
    `partition` is None; None where `sinfo` cannot be asked (no client, no controller)."""
    res = _run("sinfo", "-h", "-N", "-o", "%P|%c|%m|%G")
    if res is None or res.returncode != 0:
        return None
    nodes: dict[str, list[Node]] = {}
    default = None
    for line in res.stdout.splitlines():
        name, cpus, memory, gres = (line.split("|") + ["", "", "", ""])[:4]
        if name.endswith("*"):
            name = default = name[:-1]
        try:
            node = Node(int(cpus.rstrip("+")), int(memory.rstrip("+") or 0), gres.strip())
        except ValueError:
            continue
        nodes.setdefault(name, []).append(node)
    chosen = partition or default
    if chosen not in nodes:
        known = ", ".join(sorted(nodes)) or "none"
        raise ConfigError(f"hydra.launcher.partition={partition}: no such partition on this cluster (sinfo lists: {known}); "
                          "name one of them")  # fmt: skip
    return chosen, nodes[chosen]


def check_request(params: dict) -> None:
    """A request no node of the partition can meet (more CPUs per task, more memory or any GPU
    where it has none) is one line now, naming the setting, never an array pending for ever
    (`PartitionConfig`) or sbatch's traceback. Nothing is checked where `sinfo` cannot be asked."""
    found = partition_nodes(params.get("partition"))
    if found is None:
        return
    name, nodes = found
    cpus = int(params.get("cpus_per_task") or 1) * int(params.get("tasks_per_node") or 1)
    most = max(n.cpus for n in nodes)
    if cpus > most:
        raise ConfigError(
            f"hydra.launcher.cpus_per_task={params.get('cpus_per_task')}: no node of partition {name} has more than "
            f"{most} CPUs (sinfo), so the jobs would wait for ever; set hydra.launcher.cpus_per_task={most} or less"
        )
    gpus = int(params.get("gpus_per_node") or 0)
    if gpus and max(n.gpus for n in nodes) < gpus:
        has = max(n.gpus for n in nodes)
        raise ConfigError(
            f"hydra.launcher.gpus_per_node={gpus} (asked for by trainer=gpu): partition {name} has "
            f"{'no GPUs' if not has else f'at most {has} GPUs per node'} (sinfo GRES: "
            f"{', '.join(sorted({n.gres for n in nodes}))}); name a GPU partition with hydra.launcher.partition=NAME, "
            "or train on CPUs with trainer=cpu"
        )
    mem_gb = params.get("mem_gb")
    most_mb = max(n.memory_mb for n in nodes)
    if mem_gb and most_mb and float(mem_gb) * 1024 > most_mb:
        raise ConfigError(
            f"hydra.launcher.mem_gb={mem_gb}: no node of partition {name} has more than {most_mb // 1024} GB (sinfo); "
            "ask for less, or leave it null (the node's default)"
        )


def queue_state(job_id: str) -> tuple[str, str] | None:
    """(state, the scheduler's reason) of a job still in the queue; ("", "") once it has left it;
    None where `squeue` cannot say (no controller)."""
    res = _run("squeue", "-h", "-j", str(job_id), "-o", "%T|%r")
    if res is None:
        return None
    if res.returncode != 0:
        return ("", "") if "Invalid job id" in res.stderr else None
    line = next((x for x in res.stdout.splitlines() if x.strip()), "")
    if not line:
        return "", ""
    state, _, reason = line.partition("|")
    return state.strip(), reason.strip()


def accounting_answers(job_id: str) -> bool:
    """Whether `sacct` can say anything about the job (slurmdbd up)."""
    res = _run("sacct", "-n", "-X", "-j", str(job_id), "-o", "State")
    return res is not None and res.returncode == 0
