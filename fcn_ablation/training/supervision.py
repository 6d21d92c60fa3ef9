"""What makes one job of a sweep safe to run again: it resumes where it stopped, and never files
a diverged score.

- **Identity.** A job is its table (data set and settings key) plus its row's coordinates: the
  experiment section, the init section and the seed (`filing.job_name`); one process at a time
  runs it (`store.locks.job_lock`).
- **Resume.** `last.ckpt` is saved after every epoch (and at the step a Ctrl-C or a requeue signal
  stops, `training.signals`) in the job's checkpoint folder, which is named after its identity,
  not a time stamp; a rerun continues from it exactly where it stopped (`fit`).
- **CPU budget.** A job under a parallel launcher uses its share of the cores (`cpu_budget.py`).
- **Divergence.** A non-finite loss or weights stop the job (`DivergenceGuard`): never a score.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

from pytorch_lightning.callbacks import Callback

from fcn_ablation.errors import Diverged, Interrupted, JobTerminated, why_unreadable
from fcn_ablation.files import atomic_path
from fcn_ablation.training.signals import Requeue, Signals, interruptible

log = logging.getLogger(__name__)


class SaveLast(Callback):
    """`last.ckpt` after every training epoch, and at the step boundary after a Ctrl-C, written to
    a temporary file and renamed over the old one, so a kill during the write leaves the previous
    checkpoint whole. A checkpoint holds everything an exact resume needs: Lightning's loops and
    optimiser, the data module's place in its epoch (`data.sampling`), and the random states
    (`state_dict`: dropout draws from torch's global generator)."""

    def __init__(self, ckpt_dir: Path) -> None:
        self.ckpt_dir = Path(ckpt_dir)

    @property
    def path(self) -> Path:
        return self.ckpt_dir / "last.ckpt"

    def save(self, trainer) -> None:
        save_checkpoint(trainer, self.path)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.save(trainer)
        if Signals.requeue:  # arrived during the validation at the epoch's end
            raise Requeue

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if Signals.requeue:  # the step is whole now: save it, then let the scheduler requeue
            self.save(trainer)
            raise Requeue
        if Signals.interrupted:  # Ctrl-C during this step: the step is whole now
            self.save(trainer)
            raise Interrupted(
                f"Ctrl-C at step {trainer.global_step}; saved {self.path}: rerun the same command to resume exactly "
                "there (finished jobs are skipped)"
            )

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if Signals.interrupted and Signals.in_fit:
            raise Interrupted(
                f"Ctrl-C during validation after step {trainer.global_step}; the rerun of the same command resumes "
                f"from {self.path if self.path.is_file() else 'the start'} (the last end of an epoch)"
            )

    def state_dict(self) -> dict:
        import random

        import numpy as np
        import torch

        # NumPy's state as a tensor and numbers: a weights-only load of the checkpoint reads them.
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        numpy_state = {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "gauss": float(gauss)}  # fmt: skip
        state = {"torch": torch.get_rng_state(), "numpy": numpy_state, "python": random.getstate()}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return {"rng": state}

    def load_state_dict(self, state_dict: dict) -> None:
        """The random states of the step the checkpoint was taken at (restored before training
        resumes; Lightning's sanity check runs with its own, isolated states)."""
        import random

        import numpy as np
        import torch

        rng = state_dict.get("rng")
        if not rng:
            return
        torch.set_rng_state(rng["torch"])
        n = rng["numpy"]
        np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
        random.setstate(rng["python"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])


class DivergenceGuard(Callback):
    """Stops training at the first non-finite loss, and at the end of training on non-finite
    weights: a diverged run is a finding about its settings, never a score (`Diverged`).

    The check costs no host-device synchronisation per step: the step of the first non-finite
    loss is kept in a tensor on the device, read every `every` steps (when the progress bar
    and the logger read the loss anyway) and at each epoch's end, before `SaveLast` saves."""

    def __init__(self, every: int, what: str, lr: float, precision: str) -> None:
        self.every = max(1, int(every))
        self.what, self.lr, self.precision = what, lr, str(precision)
        self.first_bad = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        import torch

        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        bad = ~torch.isfinite(loss.detach())
        if self.first_bad is None:
            self.first_bad = torch.full((), -1, dtype=torch.long, device=loss.device)
        self.first_bad = torch.where(bad & (self.first_bad < 0), trainer.global_step, self.first_bad)
        if trainer.global_step % self.every == 0:
            self.check(trainer, pl_module)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.check(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        self.check(trainer, pl_module, weights=True)

    def check(self, trainer, pl_module, weights: bool = False) -> None:
        import torch

        step = int(self.first_bad) if self.first_bad is not None else -1
        if step >= 0:
            self._stop(f"the loss was not finite at step {step}")
        if weights:
            bad = [n for n, p in pl_module.named_parameters() if not torch.isfinite(p.detach()).all()]
            if bad:
                self._stop(f"{len(bad)} weight tensors are not finite after step {trainer.global_step} (e.g. {bad[0]})")

    def _stop(self, what: str) -> None:
        cause = f"the learning rate (optimizer.lr, here {self.lr:g}) is too high"
        if self.precision not in ("32", "32-true", "64", "64-true"):
            cause += f", or trainer.precision={self.precision} lacks the range (try 32-true)"
        raise Diverged(
            f"{self.what}: training diverged: {what}; nothing was filed. Likely cause: {cause}; change it and rerun"
        )


def save_checkpoint(trainer, path: Path) -> None:
    """Lightning's checkpoint of `trainer`, written atomically (`files.atomic_path`)."""
    with atomic_path(path) as tmp:
        trainer.save_checkpoint(str(tmp))


def fit(trainer, module, data, ckpt_dir: Path) -> dict:
    """`trainer.fit`, resumed from `ckpt_dir/last.ckpt` when a killed or interrupted run left one;
    returns what it resumed from. On SIGTERM: save `last.ckpt` and raise `JobTerminated`. On
    Ctrl-C: `SaveLast` saves at the end of the step and raises `Interrupted`; a second Ctrl-C
    stops at once, keeping the last checkpoint. On submitit's requeue signal (`requeueable`):
    `SaveLast` saves at the end of the step, then submitit's handler requeues the job and exits."""
    import warnings

    from pytorch_lightning.utilities.exceptions import SIGTERMException

    last = ckpt_dir / "last.ckpt"
    resumed = None
    if last.is_file():
        import torch

        try:  # memory-mapped: the step and a whole archive are checked, the weights read once, by Lightning
            step = int(torch.load(last, map_location="cpu", weights_only=True, mmap=True).get("global_step", 0))
        except Exception as err:  # killed while writing it: keep it aside, start over
            aside = last.with_name(f"unreadable-{last.name}")
            last.replace(aside)
            log.warning(
                "%s: unreadable checkpoint (%s), moved to %s; training from the start", last, why_unreadable(err), aside
            )
        else:
            resumed = {"checkpoint": str(last), "step": step}
            log.info("resuming from %s (step %d)", last, step)
    Signals.in_fit, Signals.interrupted, Signals.requeue = True, False, None
    try:
        with interruptible(), warnings.catch_warnings():
            # The data module restores the loader's place in its epoch (`data.sampling`); Lightning,
            # which looks for that on the loader itself, would warn that a mid-epoch resume is inexact.
            warnings.filterwarnings("ignore", message=r"You're resuming from a checkpoint that ended before the epoch")
            trainer.fit(module, datamodule=data, ckpt_path=str(last) if resumed else None, weights_only=True)
        if trainer.received_sigterm:  # Lightning may end fit quietly between epochs
            raise SIGTERMException
        if Signals.requeue:  # after the last epoch's checkpoint: the rerun starts with the test
            raise Requeue
    except Requeue:
        handler, signum = Signals.requeue
        log.info("%s at step %d: saved %s; handing over to the scheduler's requeue", signal.Signals(signum).name,
                 trainer.global_step, last)  # fmt: skip
        Signals.in_fit = False
        handler(signum, None)  # submitit's: requeues this job and exits (SystemExit)
        raise JobTerminated(
            f"{signal.Signals(signum).name} at step {trainer.global_step}; saved {last}: rerun the same command to resume"
        ) from None
    except SIGTERMException:
        save_checkpoint(trainer, last)
        raise JobTerminated(
            f"received SIGTERM at step {trainer.global_step}; saved {last}: rerun the same command to resume"
        ) from None
    except SystemExit:  # (SIGTERMException is one too: caught above) Lightning's end of a second Ctrl-C: it exits 1
        if not trainer.interrupted:
            raise
        raise Interrupted(
            f"Ctrl-C twice at step {trainer.global_step}; stopped at once: the rerun of the same command resumes "
            f"from {last if last.is_file() else 'the start'}"
        ) from None
    finally:
        Signals.in_fit, Signals.interrupted, Signals.requeue = False, False, None
    return resumed
