"""What this process may use of the machine, asked in one place: its cores, and what a device name
(a Trainer's `accelerator`, a benchmark's `device`) means here."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on (its affinity: a SLURM allocation, `taskset`, a container's
    cpuset), not the machine's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


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
