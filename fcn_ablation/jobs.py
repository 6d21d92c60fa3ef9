"""What makes one job of a sweep safe to run beside others, on other machines, and again.

- **Identity.** A job is its table (data set and settings key) plus its row's coordinates: the
  experiment section, the init section and the seed (`records.job_name`, `records.done_record`).
- **One at a time per identity.** A job holds a file lock named after it in its table's store
  while it runs, so two launches of one job (a rerun while the first still trains, two sweeps
  that share rows) never both train it: the second waits, then finds the record and skips.
- **Resume.** Lightning saves `last.ckpt` after every epoch in the job's checkpoint folder, which
  is named after its identity, not a time stamp; a rerun continues from it.
- **CPU budget.** A job under a parallel launcher uses its share of the cores (torch threads and
  loader workers), not all of them.
- **Termination.** SIGTERM (SLURM time-out or pre-emption, docker stop) ends the job with status
  143 and one line, after saving a checkpoint to resume from.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from pathlib import Path

from pytorch_lightning.callbacks import Callback

from fcn_ablation.errors import JobTerminated
from fcn_ablation.files import atomic_path

log = logging.getLogger(__name__)


@contextlib.contextmanager
def job_lock(store: Path, name: str):
    """Hold the lock of job `name` in `store` (waiting for another process that holds it)."""
    from filelock import FileLock

    path = store / ".locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Exception:  # filelock.Timeout: another process runs this job
        log.info("%s: another process is running this job; waiting for it (lock %s)", name, path)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def checkpoint_dir(results_dir: str | Path, dataset: str, key: str, name: str) -> Path:
    """Where a job's `last.ckpt` lives while it trains: derived from its identity, so a rerun finds it."""
    return Path(results_dir) / "checkpoints" / dataset / key / name


# ----------------------------------------------------------------------------- CPU budget
def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_budget() -> tuple[int, str]:
    """The cores this job may use, and why: its launcher's share (joblib: cores / n_jobs;
    submitit: cpus_per_task), SLURM's allocation, or every core this process may run on; never
    more than `OMP_NUM_THREADS` when the user set it (two sweeps side by side, one thread each)."""
    budget, why = _launcher_budget()
    cap = os.environ.get("OMP_NUM_THREADS", "")
    if cap.isdigit() and 0 < int(cap) < budget:
        return int(cap), f"OMP_NUM_THREADS={cap}"
    return budget, why


def _launcher_kind(target: str) -> str | None:
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
    kind = _launcher_kind(str(launcher.get("_target_", "")))
    if kind == "joblib":
        n_jobs = launcher.get("n_jobs") or -1
        parallel = cores if n_jobs < 0 else min(int(n_jobs), cores)
        return max(1, cores // max(1, parallel)), f"{cores} cores / {parallel} joblib jobs"
    if kind == "submitit" and launcher.get("cpus_per_task"):
        return max(1, min(cores, int(launcher["cpus_per_task"]))), "submitit cpus_per_task"
    if os.environ.get("SLURM_CPUS_PER_TASK"):
        return max(1, min(cores, int(os.environ["SLURM_CPUS_PER_TASK"]))), "SLURM_CPUS_PER_TASK"
    return cores, "every core"


def apply_cpu_budget(cfg) -> int:
    """Set torch's threads to the budget and cap the loader's workers: the default (one per core)
    at the budget (none with one core: a loader process would only take turns with the training
    thread); a number the user set, at the cores this process may run on."""
    import torch

    from fcn_ablation.data.datamodule import default_workers

    budget, why = cpu_budget()
    torch.set_num_threads(budget)
    if cfg.dataset.num_workers is None:
        wanted = default_workers()
        workers = min(wanted, budget) if budget > 1 else 0
    else:
        wanted = int(cfg.dataset.num_workers)
        workers = min(wanted, _cores())
    if workers != wanted:
        cfg.dataset.num_workers = workers
    log.info("CPU budget: %d (%s): %d torch threads, %d loader workers", budget, why, budget, workers)
    return budget


# ----------------------------------------------------------------------------- termination
class _Signals:
    """SIGTERM outside of training raises `JobTerminated`; inside, Lightning's own handler (which
    calls ours after its own) stops at the next batch and we save a checkpoint."""

    in_fit = False

    @classmethod
    def handler(cls, signum, frame) -> None:
        if not cls.in_fit:
            raise JobTerminated(
                "received SIGTERM outside training; rerun the same command to resume (finished jobs are skipped)"
            )


@contextlib.contextmanager
def terminable():
    """Install the SIGTERM handler for the length of a job (main thread only)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, _Signals.handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


class SaveLast(Callback):
    """`last.ckpt` after every training epoch, written to a temporary file and renamed over the
    old one, so a kill during the write leaves the previous checkpoint whole."""

    def __init__(self, ckpt_dir: Path) -> None:
        self.ckpt_dir = Path(ckpt_dir)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        with atomic_path(self.ckpt_dir / "last.ckpt") as tmp:
            trainer.save_checkpoint(str(tmp))


def fit(trainer, module, data, ckpt_dir: Path) -> dict:
    """`trainer.fit`, resumed from `ckpt_dir/last.ckpt` when a killed run left one; returns what
    it resumed from. On SIGTERM: save `last.ckpt` and raise `JobTerminated`."""
    from pytorch_lightning.utilities.exceptions import SIGTERMException

    last = ckpt_dir / "last.ckpt"
    resumed = None
    if last.is_file():
        import torch

        try:  # memory-mapped: the step and a whole archive are checked, the weights read once, by Lightning
            step = int(torch.load(last, map_location="cpu", weights_only=False, mmap=True).get("global_step", 0))
        except Exception as err:  # killed while writing it: keep it aside, start over
            aside = last.with_name(f"unreadable-{last.name}")
            last.replace(aside)
            log.warning(
                "%s: unreadable checkpoint (%s: %s), moved to %s; training from the start",
                last,
                type(err).__name__,
                err,
                aside,
            )
        else:
            resumed = {"checkpoint": str(last), "step": step}
            log.info("resuming from %s (step %d)", last, step)
    _Signals.in_fit = True
    try:
        trainer.fit(module, datamodule=data, ckpt_path=str(last) if resumed else None)
        if trainer.received_sigterm:  # Lightning may end fit quietly between epochs
            raise SIGTERMException
    except SIGTERMException:
        trainer.save_checkpoint(str(last))
        raise JobTerminated(
            f"received SIGTERM at step {trainer.global_step}; saved {last}: rerun the same command to resume"
        ) from None
    finally:
        _Signals.in_fit = False
    return resumed
