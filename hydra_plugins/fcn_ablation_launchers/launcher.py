"""fcn-ablation's launchers (Hydra plugins, so they live in Hydra's `hydra_plugins` namespace):
Hydra's submitit SLURM and local launchers and its joblib launcher, except that a sweep's
finished jobs are never started (`finished.py`: listed on the console, one line each) and, with
submitit, a job which fails on the
cluster (cancelled, killed, out of memory, its process gone) ends the sweep with one line naming
its log, not with submitit's traceback, and the end-of-sweep report is still built from the jobs
that finished (`sweep_report.ReportCallback` lists the failed ones and exits non-zero).

Hydra's sweeper re-raises the first failed job's error as it collects results; this launcher
hands it a result for every job (NaN for a failed one) and writes the failures to
`<sweep dir>/failed_jobs.json`, where the callback reads them."""

from __future__ import annotations

import contextlib
import json
import logging
import math
from pathlib import Path

from hydra.core.utils import JobReturn, JobStatus

from fcn_ablation.commands.sweep_report import FAILED_JOBS
from fcn_ablation.errors import ConfigError
from fcn_ablation.files import atomic_write_text
from hydra_plugins.fcn_ablation_launchers.finished import launch_unfinished

log = logging.getLogger(__name__)


class _Guarded:
    """A submitit job whose `results()` never raises: a failure is noted and stands as NaN."""

    def __init__(self, job, failures: list[dict]) -> None:
        self.job, self.failures = job, failures

    def results(self) -> list[JobReturn]:
        try:
            return self.job.results()
        except Exception as err:  # noqa: BLE001 - UncompletedJobError, FailedJobError: the job failed on the cluster
            self.failures.append({"job_id": str(self.job.job_id), "state": _state(self.job),
                                  "error": _last_line(self.job.paths.stderr) or type(err).__name__,
                                  "log": str(self.job.paths.stderr)})  # fmt: skip
            ret = JobReturn(status=JobStatus.COMPLETED)
            ret.return_value = math.nan
            return [ret]


def _last_line(path) -> str:
    """What a job said last in its log: its one-line `error:` when it wrote one (srun's own
    closing line follows it), else its last line; "" without a log."""
    try:
        lines = [line.strip() for line in Path(path).read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    ours = [line for line in lines if line.startswith("error:")]
    return (ours or lines or [""])[-1][:300]


def accounting_off() -> str | None:
    """Why this cluster cannot tell the launcher that a job ended (submitit learns a job's end from
    `sacct`: without accounting a cancelled job's state stays unknown and the sweep waits for ever),
    or None when it can."""
    import subprocess

    try:
        out = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None  # no scontrol here: submitit's own submission error says more
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "AccountingStorageType" and value.strip() in ("accounting_storage/none", "(null)", ""):
            return (
                f"SLURM accounting is off on this cluster (AccountingStorageType={value.strip()}): submitit learns "
                "that a job ended from sacct, so a cancelled or killed job would keep this sweep waiting for ever; "
                "ask the cluster's admins for accounting (slurmdbd), or run the jobs with launcher=joblib on one node"
            )
    return None


def _state(job) -> str:
    try:
        return str(job.state)
    except Exception:  # noqa: BLE001 - no accounting, or the scheduler gone: the state is unknown
        return "UNKNOWN"


@contextlib.contextmanager
def _guarded_jobs(failures: list[dict]):
    import submitit

    real = submitit.AutoExecutor.map_array

    def map_array(executor, fn, *iterables):
        return [_Guarded(job, failures) for job in real(executor, fn, *iterables)]

    submitit.AutoExecutor.map_array = map_array
    try:
        yield
    finally:
        submitit.AutoExecutor.map_array = real


def _guarded_launch(launcher, job_overrides, initial_job_idx, launch, verb: str):
    """`launch` on the unfinished jobs (`finished.launch_unfinished`), a failed job standing as NaN
    and listed in `<sweep dir>/failed_jobs.json`."""
    failures: list[dict] = []
    with _guarded_jobs(failures):
        results = launch_unfinished(launcher, job_overrides, initial_job_idx, launch, verb)
    path = Path(str(launcher.config.hydra.sweep.dir)) / FAILED_JOBS
    previous = json.loads(path.read_text()) if path.is_file() else []
    if failures or previous:
        atomic_write_text(path, json.dumps(previous + failures, indent=2))
    return results


try:  # the launchers extra (pip install -e '.[launchers]'); Hydra scans this module without it too
    from hydra_plugins.hydra_submitit_launcher import submitit_launcher
except ImportError:  # pragma: no cover - no submitit here: launcher=submitit_slurm says so itself
    submitit_launcher = None
try:
    from hydra_plugins.hydra_joblib_launcher import joblib_launcher
except ImportError:  # pragma: no cover - no joblib launcher here: launcher=joblib says so itself
    joblib_launcher = None

if submitit_launcher is not None:

    class SlurmLauncher(submitit_launcher.SlurmLauncher):
        """Hydra's submitit SLURM launcher: refuses a cluster without accounting, submits only
        unfinished jobs, and lets a failed job end the sweep in one line."""

        def launch(self, job_overrides, initial_job_idx):
            why = accounting_off()
            if why:
                raise ConfigError(why)
            return _guarded_launch(self, job_overrides, initial_job_idx, super().launch, "submitted")

    class LocalLauncher(submitit_launcher.LocalLauncher):
        """Hydra's submitit local launcher: starts only unfinished jobs; a failed job is one line."""

        def launch(self, job_overrides, initial_job_idx):
            return _guarded_launch(self, job_overrides, initial_job_idx, super().launch, "started")


if joblib_launcher is not None:

    class JoblibLauncher(joblib_launcher.JoblibLauncher):
        """Hydra's joblib launcher: starts only unfinished jobs."""

        def launch(self, job_overrides, initial_job_idx):
            return launch_unfinished(self, job_overrides, initial_job_idx, super().launch, "started")
