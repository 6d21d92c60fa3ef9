"""The cores a job may use: its launcher's share (joblib: cores / n_jobs; submitit: the job's
CPUs), `OMP_NUM_THREADS` where set, and never cores other work keeps busy; handed to torch's
threads and the data loader's workers."""

from __future__ import annotations

import logging
import os

from fcn_ablation.machine import idle_cores, usable_cores

log = logging.getLogger(__name__)


def _cores() -> int:
    return usable_cores()


def cpu_budget() -> tuple[int, str]:
    """The cores this job may use, and why: its launcher's share (joblib: cores / n_jobs;
    submitit: cpus_per_task), SLURM's allocation, or every core this process may run on, less those
    other work keeps busy at the start; never more than `OMP_NUM_THREADS` when the user set it (two
    sweeps side by side, one thread each)."""
    budget, why = _launcher_budget()
    cap = os.environ.get("OMP_NUM_THREADS", "")
    if cap.isdigit() and 0 < int(cap) < budget:
        return int(cap), f"OMP_NUM_THREADS={cap}"
    if why == "every core" and budget > 1:
        # Other work on these cores: a thread per core would wait on the busy ones at every
        # parallel region (measured: 3.8x slower beside one busy process on 2 cores; with the free
        # core alone, 1.2x). Take the free ones.
        idle = idle_cores()
        free = max(1, int(idle + 0.25)) if idle is not None else budget
        if free < budget:
            return free, f"{budget - free} of {budget} cores busy with other work"
    return budget, why


def launcher_kind(target: str) -> str | None:
    """ "joblib" or "submitit" for a launcher class of those plugins (a subclass included), else None.
    Ancestry is read by qualified name: Hydra's plugin scan executes `hydra_plugins` modules afresh,
    so the base class a subclass was built on need not be the object an import returns now."""
    from hydra.utils import get_class

    try:
        cls = get_class(target)
    except Exception:  # noqa: BLE001 - no launcher, or one that cannot be imported here: none of ours
        return None
    ancestry = {f"{c.__module__}.{c.__qualname__}" for c in getattr(cls, "__mro__", ())}
    for kind, base in (
        ("joblib", "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"),
        ("submitit", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.BaseSubmititLauncher"),
    ):
        if base in ancestry:
            return kind
    return None


def _launcher_budget() -> tuple[int, str]:
    cores = _cores()
    try:
        from hydra.core.hydra_config import HydraConfig

        launcher = HydraConfig.get().launcher
    except (ValueError, ImportError):
        launcher = {}
    kind = launcher_kind(str(launcher.get("_target_", "")))
    if kind == "joblib":
        n_jobs = launcher.get("n_jobs") or -1
        parallel = cores if n_jobs < 0 else min(int(n_jobs), cores)
        return max(1, cores // max(1, parallel)), f"{cores} cores / {parallel} joblib jobs"
    if kind == "submitit" and launcher.get("cpus_per_task"):
        return max(1, min(cores, int(launcher["cpus_per_task"]))), "submitit cpus_per_task"
    if os.environ.get("SLURM_CPUS_PER_TASK"):
        return max(1, min(cores, int(os.environ["SLURM_CPUS_PER_TASK"]))), "SLURM_CPUS_PER_TASK"
    return cores, "every core"


def apply_cpu_budget(num_workers: int | None) -> tuple[int, int]:
    """Set torch's threads to the budget and cap the loader's workers: the default (`num_workers`
    None: one per core) at the budget (none with one core: a loader process would only take turns
    with the training thread); a number the user set, at the cores this process may run on.
    Returns (torch threads, loader workers)."""
    import torch

    from fcn_ablation.data.datamodule import default_workers

    budget, why = cpu_budget()
    torch.set_num_threads(budget)
    if num_workers is None:
        workers = min(default_workers(), budget) if budget > 1 else 0
    else:
        workers = min(int(num_workers), _cores())
    log.info("CPU budget: %d (%s): %d torch threads, %d loader workers", budget, why, budget, workers)
    return budget, workers
