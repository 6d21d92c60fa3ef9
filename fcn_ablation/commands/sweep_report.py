"""Hydra callback: when a multirun ends, turn its jobs' records into reports.

Registered in `conf/config.yaml` under `hydra.callbacks`, so it runs in the launching process
once all jobs are done, whatever the launcher (local, joblib, SLURM); it finds the tables through
the `job.json` each job leaves in its folder (the results folder must be shared with the jobs). Per table the sweep wrote
into: benchmark exactly its variants on the sweep's device (`report.bench`, or reuse such a
benchmark), write the report, and log it to W&B as a run of its own in the sweep's group.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from hydra.experimental.callback import Callback

from fcn_ablation import results_layout
from fcn_ablation.config.checks import is_wandb
from fcn_ablation.errors import UserError, exit_on_user_error
from fcn_ablation.store import filing

log = logging.getLogger(__name__)


def build_report(
    cfg, store: Path, results_dir: Path, group: str | None = None, bench: bool = True, to_wandb: bool = True
) -> Path:
    """Benchmark (when `bench` and `cfg.report.bench`), write and log (`to_wandb`, with the W&B logger) one table's report."""
    from fcn_ablation.reporting.report import load_store, write_report
    from fcn_ablation.results_layout import report_dir

    r = cfg.report
    recs = load_store(store)
    out = report_dir(results_dir, recs[0].dataset, recs[0].settings_key)
    if bench and r.bench:
        why_not = bench_on_the_jobs_device(cfg, recs, out)
        if why_not:
            log.warning("%s: no benchmark (%s); the report's time columns stay empty until one is made where the "
                        "jobs ran: fcn-ablation-report %s --bench --device %s", store, why_not, store,
                        cfg.trainer.accelerator)  # fmt: skip
            print(f"no benchmark: {why_not}; make it where the jobs ran: "
                  f"fcn-ablation-report {store} --bench --device {cfg.trainer.accelerator}")  # fmt: skip
    out = write_report(
        store, results_dir, permutations=r.permutations, alpha=r.alpha, width_multiplier=r.width_multiplier
    )
    if to_wandb and is_wandb(cfg.logger):
        from fcn_ablation.reporting.wandb_report import log_report

        try:
            log_report(out, cfg, group)
        except UserError:
            raise
        except Exception as err:  # noqa: BLE001 - the report's files are written; only its W&B copy is lost
            log.warning("W&B: could not log the report (%s: %s); it is in %s", type(err).__name__, err, out)
    return out


def bench_on_the_jobs_device(cfg, recs, out: Path) -> str | None:
    """`_bench_on_the_jobs_device` under the table's benchmark lock: two sweeps of one table that end
    together never time it at once on one node (each would slow the other's timings); the second
    waits, then finds the first's benchmark and reuses it."""
    from filelock import FileLock, Timeout

    lock_path = Path(out) / results_layout.BENCH_LOCK  # beside bench/, which only a benchmark makes
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"benchmark: another sweep is benchmarking this table; waiting for it ({lock_path})", flush=True)
        lock.acquire()
    try:
        return _bench_on_the_jobs_device(cfg, recs, out)
    finally:
        lock.release()


def _bench_on_the_jobs_device(cfg, recs, out: Path) -> str | None:
    """Benchmark a table's variants (`bench.inference.bench_table`) on the device the sweep's jobs
    ran on: under a submitit launcher as one more job of the sweep's own launcher (the launching
    machine, a login node, may lack the GPU or be another CPU); otherwise here, unless the jobs'
    accelerator is a GPU this machine lacks. Returns None, or why there is no benchmark (never an
    exception: the records are filed, the report is written without the time columns)."""
    from fcn_ablation.machine import on_cuda
    from fcn_ablation.training.cpu_budget import launcher_kind

    r = cfg.report
    kwargs = {"device": str(cfg.trainer.accelerator), "rounds": int(r.rounds), "warmup": int(r.warmup),
              "width_multiplier": float(r.width_multiplier), "speeds": list(r.speeds)}  # fmt: skip
    launcher = cfg.hydra.get("launcher") if "hydra" in cfg else None
    if launcher is not None and launcher_kind(str(launcher.get("_target_", ""))) == "submitit":
        from fcn_ablation.bench.inference import benched_somewhere

        found = benched_somewhere(recs, out, rounds=kwargs["rounds"], width_multiplier=kwargs["width_multiplier"],
                                  speeds=kwargs["speeds"], device_type="cuda" if on_cuda(kwargs["device"]) else "cpu")  # fmt: skip
        if found is not None:  # nothing new to time (a rerun of a finished sweep): no job for it
            print(f"benchmark: this table's variants are benchmarked already ({found}); reused")
            return None
        try:
            job = submit_like_the_sweep(launcher, _bench_job, recs, out, kwargs)
            print(f"benchmark: submitted as job {job.job_id}, on the sweep's launcher")
            job.result()
        except Exception as err:  # noqa: BLE001 - the cluster's error, whatever it is: the report goes on without
            return f"the benchmark job failed: {type(err).__name__}: {str(err).strip().splitlines()[-1][:300]}"
        return None
    if on_cuda(kwargs["device"]):
        import torch

        if not torch.cuda.is_available():
            return f"trainer.accelerator={kwargs['device']}, and this machine has no CUDA device"
    from fcn_ablation.bench.inference import bench_table

    bench_table(recs, out, progress=bool(cfg.trainer.enable_progress_bar), **kwargs)
    return None


def _bench_job(recs, out: Path, kwargs: dict) -> None:
    """The benchmark as a job of its own: on the job's CPU share (`cpus_per_task`), as the jobs ran."""
    import torch

    from fcn_ablation.bench.inference import bench_table
    from fcn_ablation.training.cpu_budget import cpu_budget

    torch.set_num_threads(cpu_budget()[0])
    bench_table(recs, out, progress=False, **kwargs)


def submit_like_the_sweep(launcher, fn, *args):
    """`fn(*args)` submitted through submitit with the parameters of the sweep's submitit launcher
    (`hydra.launcher`: partition, GPUs, CPUs, time, setup lines), as Hydra's launcher submits a job."""
    import submitit
    from hydra.utils import get_class
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
    from omegaconf import OmegaConf

    params = {k: v for k, v in OmegaConf.to_container(launcher, resolve=True).items() if k != "_target_"}
    cluster = get_class(str(launcher._target_))._EXECUTOR
    executor = submitit.AutoExecutor(
        folder=params.pop("submitit_folder"), cluster=cluster,
        **({f"{cluster}_max_num_timeout": params.pop("max_num_timeout")} if "max_num_timeout" in params else {}),
    )  # fmt: skip
    base = set(OmegaConf.structured(BaseQueueConf).keys())
    params.pop("array_parallelism", None)
    executor.update_parameters(**{k if k in base else f"{cluster}_{k}": v for k, v in params.items()})
    return executor.submit(fn, *args)


def sweep_tables(sweep_dir: Path) -> list[tuple[str, str]]:
    """(data set, settings key) of every table a sweep's tested jobs wrote to or found done: from
    each job folder's `job.json` (jobs written before those existed: their `record.json`) and the
    launcher's list of the jobs it found done before starting them (`skipped_jobs.json`).
    Selection jobs (`test=false`) join no table."""
    from fcn_ablation.store.job_entry import read_job_file, skipped_entries

    tables = set()
    entries: list = []
    for path in sorted(sweep_dir.glob(f"*/{results_layout.JOB_FILE}")):
        try:
            entries.append(read_job_file(path))
        except (OSError, ValueError, TypeError):
            log.warning("%s: unreadable; its job is left out of the report", path)
    for path in sorted(sweep_dir.glob(f"*/{results_layout.RECORD_FILE}")):  # job folders older than job.json
        try:
            rec = filing.read_record(path)
        except UserError:
            log.warning("%s: unreadable; its job is left out of the report", path)
            continue
        if rec.test:
            tables.add((rec.dataset, rec.settings_key))
    try:
        entries += skipped_entries(sweep_dir)
    except (OSError, ValueError, TypeError):
        log.warning("%s: unreadable; its jobs are left out of the report", sweep_dir / SKIPPED_JOBS)
    tables |= {(e.dataset, e.settings_key) for e in entries if e.joins_a_table}
    return sorted(tables)


def diverged_jobs(sweep_dir: Path) -> list[tuple[Path, str]]:
    """(job folder, message) of every job of a sweep whose training diverged (`job.json`)."""
    from fcn_ablation.store.job_entry import read_job_file

    out = []
    for path in sorted(sweep_dir.glob(f"*/{results_layout.JOB_FILE}")):
        try:
            job = read_job_file(path)
        except (OSError, ValueError, TypeError):
            continue
        if job.diverged:
            out.append((path.parent, str(job.diverged)))
    return out


# the sweep folder's lists of jobs found done before launching and of jobs failed on the cluster
# (both written by hydra_plugins/fcn_ablation_launchers)
SKIPPED_JOBS, FAILED_JOBS = results_layout.SKIPPED_JOBS, results_layout.FAILED_JOBS


def failed_jobs(sweep_dir: Path) -> list[dict]:
    """The jobs of a sweep that failed on the cluster (hydra_plugins/fcn_ablation_launchers), with their logs."""
    import json

    path = Path(sweep_dir) / FAILED_JOBS
    try:
        return json.loads(path.read_text()) if path.is_file() else []
    except (OSError, ValueError):
        return [{"job_id": "?", "state": "?", "error": f"{path} unreadable", "log": str(path)}]


def table_line(report: Path, dataset: str, key: str) -> str:
    """One line for the end of a sweep: the table's key and its baseline's max F on each test set."""
    import pandas as pd

    from fcn_ablation.evaluation.registry import HEADLINE

    sets = []
    for path in sorted((report / results_layout.TEST_SETS).glob(f"*/{results_layout.RESULTS_CSV}")):
        try:
            df = pd.read_csv(path)
            ref = df[df.reference.astype(bool)]
            sets.append(
                f"{path.parent.name} {float(ref[HEADLINE].iloc[0]):.4f}" if len(ref) else f"{path.parent.name} -"
            )
        except (OSError, ValueError, KeyError, AttributeError):
            continue
    return f"table {key} ({dataset}): the baseline's max F {'; '.join(sets) or '-'}"


class ReportCallback(Callback):
    def on_multirun_end(self, config, **kwargs) -> None:
        """The report of every table the sweep wrote to; then one line per job whose training
        diverged (filed nothing), and exit status 2 when there was one."""
        sweep_dir = Path(config.hydra.sweep.dir)
        tables = sweep_tables(sweep_dir)
        diverged = diverged_jobs(sweep_dir)
        with exit_on_user_error():
            if not tables:
                log.warning("no finished tested jobs in %s: no report written", sweep_dir)
            results_dir = Path(config.paths.results_dir)
            for dataset, key in tables:
                store = results_layout.store_dir(results_dir, dataset, key)
                try:
                    out = build_report(config, store, results_dir, group=sweep_dir.name)
                except UserError:
                    raise
                except Exception as err:  # Hydra would turn it into a warning: say what failed, and how to retry
                    log.error("report of %s failed (%s: %s); the records are safe, rebuild it with: fcn-ablation-report %s --bench",
                              store, type(err).__name__, err, store)  # fmt: skip
                    raise
                print(f"report: {out / results_layout.REPORT_MD}")
                print(table_line(out, dataset, key))
            failed = failed_jobs(sweep_dir)
            for job in failed:
                print(f"failed: job {job['job_id']} ({job['state']}): {job['error']}; its log: {job['log']}",
                      file=sys.stderr)  # fmt: skip
            if len(diverged) > 1 or failed:  # one diverged job alone: the closing line names it
                for folder, message in diverged:
                    print(f"diverged: {folder.name}: {message}", file=sys.stderr)
            if failed:
                raise UserError(
                    f"{len(failed)} job(s) of the sweep failed on the cluster (listed above); the report holds the rest: "
                    "rerun the same command to run them (finished jobs are skipped)"
                )
            if len(diverged) == 1:
                (folder, message), = diverged  # fmt: skip
                raise UserError(f"job {folder.name} of the sweep diverged and filed nothing ({message}); the report "
                                "holds the rest")  # fmt: skip
            if diverged:
                raise UserError(
                    f"{len(diverged)} job(s) of the sweep diverged and filed nothing (listed above); the report holds the rest"
                )
