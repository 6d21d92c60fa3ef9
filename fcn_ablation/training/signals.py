"""How a job ends when it is told to: SIGTERM, Ctrl-C, a scheduler's requeue signal.

- SIGTERM (`scancel`, docker stop) ends the job with status 143 and one line, after saving a
  checkpoint to resume from (`terminable`); Ctrl-C with status 130 (`interruptible`).
- Under submitit, the time-out and pre-emption signal (SIGUSR2) is held until the end of the
  training step: the checkpoint of that step is saved, then submitit's own handler requeues the job
  (`requeueable`).
`Signals` is the state these handlers share with `training.supervision.fit` and `SaveLast`, which
act on it at step boundaries.
"""

from __future__ import annotations

import contextlib
import signal
import sys

from fcn_ablation.errors import Interrupted, JobTerminated


class Signals:
    """SIGTERM outside of training raises `JobTerminated`; inside, Lightning's own handler (which
    calls ours after its own) stops at the next batch and we save a checkpoint."""

    in_fit = False
    interrupted = False  # a Ctrl-C during training asked for a stop at the end of the step
    requeue = None  # (handler, signal): a scheduler's requeue signal, passed on at the end of the step

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
    before = signal.signal(signal.SIGTERM, Signals.handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


class Requeue(Exception):
    """Raised at a step boundary after saving, when a requeue signal arrived during the step."""


@contextlib.contextmanager
def requeueable(signum: int = signal.SIGUSR2):
    """Under submitit, `signum` (SIGUSR2: SLURM's warning before a time-out, or a pre-emption) runs
    submitit's handler, which requeues the job and exits at once: mid-step, so the rerun would start
    from the last epoch's end. Held here until the end of the training step instead: `SaveLast`
    saves that step's checkpoint, then submitit's handler runs (`fit`). Outside training the signal
    goes to submitit's handler at once. Nothing changes where no Python handler was installed
    (outside submitit) or off the main thread."""
    import threading

    before = signal.getsignal(signum)
    if threading.current_thread() is not threading.main_thread() or not callable(before):
        yield
        return

    def handler(sig, frame) -> None:
        if not Signals.in_fit:
            before(sig, frame)
            return
        Signals.requeue = (before, sig)
        print(f"\n{signal.Signals(sig).name}: saving a checkpoint at the end of this step, then requeueing",
              file=sys.stderr)  # fmt: skip

    signal.signal(signum, handler)
    try:
        yield
    finally:
        signal.signal(signum, before)


@contextlib.contextmanager
def lightning_interrupts(trainer, what: str, resume: str):
    """Lightning ends a Ctrl-C outside `fit` (testing, validating) with `sys.exit(1)` and its own
    message, which we silence: that becomes `Interrupted`, saying `what` was interrupted and what
    the rerun `resume`s from."""
    from pytorch_lightning.utilities.exceptions import SIGTERMException

    try:
        yield
    except SystemExit as exit_:
        if not trainer.interrupted or isinstance(exit_, SIGTERMException):
            raise
        raise Interrupted(f"Ctrl-C while {what}; rerun the same command: it resumes from {resume}") from None


@contextlib.contextmanager
def interruptible():
    """During training, a first Ctrl-C asks for a stop at the end of the current step (where the
    state is whole and `SaveLast` can save it); a second one interrupts at once (main thread only)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame) -> None:
        if Signals.interrupted:
            raise KeyboardInterrupt
        Signals.interrupted = True
        print(
            "\nCtrl-C: stopping after this step and saving a checkpoint (Ctrl-C again: stop at once)", file=sys.stderr
        )

    before = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def cluster_plugins() -> list:
    """The cluster environment every Trainer of ours gets. Under SLURM (a job `srun` started),
    Lightning's own requeue on SIGUSR1 would fight submitit's (which requeues the job; the rerun
    resumes from `last.ckpt`): Lightning's SLURM environment without it. Elsewhere the plain one,
    named, so that Lightning does not look for SLURM itself; and outside any SLURM job, its warning
    that `srun` is "available but not used" (on any machine that has it) is silenced."""
    import os
    import warnings

    from lightning_fabric.plugins.environments import LightningEnvironment, SLURMEnvironment
    from lightning_fabric.plugins.environments.slurm import _is_srun_used

    if (
        "SLURM_JOB_ID" not in os.environ
    ):  # no SLURM job at all: the hint is about nothing here (Lightning asks again when it resumes)
        warnings.filterwarnings("ignore", message="The `srun` command is available on your system but is not used")
    return [SLURMEnvironment(auto_requeue=False)] if _is_srun_used() else [LightningEnvironment()]
