"""What this process may use of the machine, asked in one place: its cores, and what a device name
(a Trainer's `accelerator`, a benchmark's `device`) means here."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on (its affinity: a SLURM allocation, `taskset`, a container's
    cpuset), not the machine's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def idle_cores(sample_s: float = 0.3) -> float | None:
    """How many of this process's cores sat idle over `sample_s` seconds (Linux `/proc/stat`), or
    None where that cannot be read: a job that starts beside other work takes what is free."""
    import time

    def ticks() -> dict[str, tuple[int, int]]:
        out = {}
        with open("/proc/stat") as f:
            for line in f:
                name, *values = line.split()
                if name.startswith("cpu") and name != "cpu":
                    v = [int(x) for x in values]
                    out[name] = (v[3] + (v[4] if len(v) > 4 else 0), sum(v))  # idle + iowait, total
        return out

    try:
        mine = {
            f"cpu{i}"
            for i in (os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1))
        }
        before = ticks()
        time.sleep(sample_s)
        after = ticks()
    except (OSError, ValueError, IndexError):
        return None
    idle = 0.0
    for cpu in mine & set(before) & set(after):
        total = after[cpu][1] - before[cpu][1]
        idle += (after[cpu][0] - before[cpu][0]) / total if total > 0 else 1.0
    return idle


CUDA_NAMES = ("gpu", "cuda")  # Lightning's accelerator name and torch's device name for one thing


def on_cuda(name: str) -> bool:
    """Whether a device or accelerator `name` (cpu, gpu, cuda, auto) runs on a CUDA device here."""
    import torch

    return str(name) in CUDA_NAMES or (str(name) == "auto" and torch.cuda.is_available())


def torch_device(name: str):
    """The torch device `name` means here; `ConfigError` for a CUDA name without a CUDA device."""
    import torch

    from fcn_ablation.errors import ConfigError

    if str(name) in CUDA_NAMES and not torch.cuda.is_available():
        raise ConfigError(f"device={name}: no CUDA device is available here; use device=cpu")
    return torch.device("cuda" if on_cuda(name) else "cpu" if str(name) == "auto" else str(name))
