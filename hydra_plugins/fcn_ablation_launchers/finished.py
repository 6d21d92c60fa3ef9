"""Finished jobs never reach the launcher: before a sweep's jobs are started (a SLURM array
submitted, joblib's processes or submitit's local ones started), each job's config is composed
here, in the launching process, and a job whose record the store holds already
(`training.job.stored_record`) is listed on the console, one line each, and left out.

Its result still reaches Hydra (the record's max F, what a sweeper such as Optuna reads), and its
table reaches the end-of-sweep report through `<sweep dir>/skipped_jobs.json`. Hydra numbers the
jobs it starts from `initial_job_idx`, so the ones left after the filter are numbered without
gaps (their folders are named by those numbers; the skipped ones get no folder)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from fcn_ablation.store.job_entry import JobEntry, add_skipped


def _skipped(launcher, overrides: Sequence[str]) -> tuple[JobReturn, dict] | None:
    """(the job's result, its `skipped_jobs.json` entry) when its record is stored, else None."""
    import copy

    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict, read_write

    from fcn_ablation.store import filing
    from fcn_ablation.training.job import stored_record

    sweep_cfg = launcher.hydra_context.config_loader.load_sweep_config(launcher.config, list(overrides))
    cfg = copy.deepcopy(sweep_cfg)
    with read_write(cfg), open_dict(cfg):
        del cfg["hydra"]  # the task's config, as Hydra's `run_job` hands it to the job
    hydra, before = HydraConfig.instance(), HydraConfig.instance().cfg
    hydra.set_config(sweep_cfg)  # `${hydra:...}` in the task's config (the experiment's name) reads the job's
    try:
        path = stored_record(cfg)
        if path is None:
            return None
        record = filing.read_record(path)
        cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    finally:
        hydra.cfg = before
    ret = JobReturn(overrides=list(overrides), cfg=cfg, status=JobStatus.COMPLETED)
    ret.return_value = float(record.headline.get("max_f", math.nan))  # what the job itself would return
    entry = JobEntry(job=record.job, dataset=record.dataset, settings_key=record.settings_key,
                     record=filing.relative_to(path, cfg.paths.results_dir), skipped=True, test=record.test,
                     overrides=list(overrides))  # fmt: skip
    return ret, entry


def launch_unfinished(launcher, job_overrides: Sequence[Sequence[str]], initial_job_idx: int,
                      launch: Callable[[list, int], Sequence[JobReturn]], verb: str) -> list[JobReturn]:  # fmt: skip
    """`launch` (the launcher's own) on the jobs whose record is not stored yet; the others are
    printed (`skipped JOB: its record is PATH, not VERB`) and stand in the results, in order, as
    their stored max F."""
    found = {i: _skipped(launcher, overrides) for i, overrides in enumerate(job_overrides)}
    done = {i: hit for i, hit in found.items() if hit is not None}
    if done:
        for _, entry in done.values():
            print(f"skipped {entry.job}: its record is {entry.record}, not {verb} (rerun=true trains it again)")
        add_skipped(Path(str(launcher.config.hydra.sweep.dir)), [entry for _, entry in done.values()])
        print(f"{len(done)} of {len(job_overrides)} jobs are done already; {len(job_overrides) - len(done)} {verb}")
    todo = [overrides for i, overrides in enumerate(job_overrides) if i not in done]
    started = iter(launch(todo, initial_job_idx) if todo else [])
    return [done[i][0] if i in done else next(started) for i in range(len(job_overrides))]
