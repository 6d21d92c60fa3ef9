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
import os
import sys
import time
from pathlib import Path

from hydra.core.utils import JobReturn, JobStatus

from fcn_ablation.errors import ConfigError
from fcn_ablation.files import atomic_write_text
from fcn_ablation.results_layout import FAILED_JOBS
from hydra_plugins.fcn_ablation_launchers.finished import launch_unfinished

log = logging.getLogger(__name__)


# While the sweep waits for a job: how often it looks, after how long in the queue it says why the
# job still waits (the scheduler's reason; again at each such interval), and how long a job may be
# gone from the queue, with no result and no word from `sacct`, before it counts as failed.
def _seconds(variable: str, default: float) -> float:
    """A number of seconds from the environment, or `default` where it is unset or not a positive number."""
    try:
        value = float(os.environ.get(variable, default))
    except ValueError:
        return default
    return value if value > 0 else default


POLL_S = _seconds("FCN_ABLATION_POLL_S", 10)
PENDING_NOTE_S = _seconds("FCN_ABLATION_PENDING_NOTE_S", 300)
GONE_GRACE_S = _seconds("FCN_ABLATION_GONE_GRACE_S", 180)


class _Guarded:
    """A submitit job whose `results()` never raises: a failure is noted and stands as NaN. While
    it waits, it says why a job pends (`PENDING_NOTE_S`), and it ends the wait for a job that has
    left the queue without a result while `sacct` cannot be reached (`GONE_GRACE_S`)."""

    def __init__(self, job, failures: list[dict]) -> None:
        self.job, self.failures = job, failures

    def results(self) -> list[JobReturn]:
        try:
            if self._wait():
                return self.job.results()
            error = f"left the queue without a result while sacct could not be reached (slurmdbd down?): {_last_line(self.job.paths.stderr) or 'no log line'}"
            self._failed("UNKNOWN (no accounting)", error)
        except Exception as err:  # noqa: BLE001 - UncompletedJobError, FailedJobError: the job failed on the cluster
            self._failed(_state(self.job), _last_line(self.job.paths.stderr) or type(err).__name__)
        ret = JobReturn(status=JobStatus.COMPLETED)
        ret.return_value = math.nan
        return [ret]

    def _failed(self, state: str, error: str) -> None:
        self.failures.append({"job_id": str(self.job.job_id), "state": state, "error": error,
                              "log": str(self.job.paths.stderr)})  # fmt: skip

    def _wait(self) -> bool:
        """Wait until submitit knows the job ended (True), or the job has left the queue with no
        result while `sacct` stays silent for `GONE_GRACE_S` (False: what is known is that it
        failed). submitit's own "Bypassing sacct error" warnings give way to one line."""
        from hydra_plugins.fcn_ablation_launchers import cluster

        if not hasattr(self.job, "paths"):  # not a SLURM job (the local launcher's): submitit's own wait
            return True
        started, said, gone_since, quiet = time.monotonic(), 0, None, _quiet_submitit()
        with quiet:
            while not self.job.done():
                now = time.monotonic()
                where = cluster.queue_state(self.job.job_id)
                if where is not None and where[0] == "PENDING" and now - started >= PENDING_NOTE_S * (said + 1):
                    said += 1
                    print(f"waiting: job {self.job.job_id} has been pending {int((now - started) // 60)} min; the "
                          f"scheduler's reason: {where[1] or 'none given'} (squeue -j {self.job.job_id})", flush=True)  # fmt: skip
                gone = where is not None and where[0] == ""
                gone_since = (gone_since or now) if gone else None
                if (
                    gone_since is not None
                    and now - gone_since >= GONE_GRACE_S
                    and not self.job.paths.result_pickle.exists()
                ):
                    if not cluster.accounting_answers(self.job.job_id):
                        return False
                time.sleep(POLL_S)
        if quiet.bypassed:
            print(f"waiting: sacct could not be reached for a while (slurmdbd down?); job {self.job.job_id} ended "
                  "meanwhile", flush=True)  # fmt: skip
        return True


class _quiet_submitit(contextlib.AbstractContextManager):
    """submitit's warnings about `sacct` (one per poll while slurmdbd is down) counted, not printed."""

    def __init__(self) -> None:
        self.bypassed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if "sacct" in record.getMessage():
            self.bypassed += 1
            return False
        return True

    def __enter__(self):
        for name in ("submitit", ""):
            logging.getLogger(name).addFilter(self)
        return self

    def __exit__(self, *exc) -> None:
        for name in ("submitit", ""):
            logging.getLogger(name).removeFilter(self)


def _last_line(path) -> str:
    """What a job said last in its log: its own closing line when it wrote one (`error:`,
    `terminated: ... saved ...`, `interrupted:`; srun's closing line follows it), else its last
    line; "" without a log."""
    try:
        lines = [line.strip() for line in Path(path).read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    ours = [line for line in lines if line.startswith(("error:", "terminated:", "interrupted:"))]
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


def _submit(map_array, executor, fn, *iterables):
    """submitit's submission, with sbatch's refusal (which submitit prints, then raises with a
    traceback) as one line quoting what sbatch said."""
    import io

    from submitit.core.utils import FailedJobError

    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            jobs = map_array(executor, fn, *iterables)
    except FailedJobError as err:
        lines = [x.strip() for x in (str(err) or said.getvalue()).splitlines() if x.strip()]
        raise ConfigError(f"sbatch refused the sweep's jobs: {(lines or ['no reason given'])[-1]}; fix the "
                          "hydra.launcher.* setting it names") from None  # fmt: skip
    sys.stderr.write(said.getvalue())  # anything else it said, as it said it
    return jobs


@contextlib.contextmanager
def _guarded_jobs(failures: list[dict]):
    import submitit

    real = submitit.AutoExecutor.map_array

    def map_array(executor, fn, *iterables):
        return [_Guarded(job, failures) for job in _submit(real, executor, fn, *iterables)]

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
            from hydra_plugins.fcn_ablation_launchers.cluster import check_request

            why = accounting_off()
            if why:
                raise ConfigError(why)
            check_request(self.params)  # a request no node can meet: one line now, not a job pending for ever
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
