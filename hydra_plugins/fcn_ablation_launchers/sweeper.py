"""The sweeper of `python -m fcn_ablation -m ...`: Hydra's basic sweeper, except that a sweep of
variants (`experiment=a,b`) whose table would have no baseline gets the baseline's job, with the
same overrides, at its front: the paper's tables are changes against the baseline, and a sweep
that leaves it out reports every "vs base" column blank.

One baseline job is added per combination of the other overrides (each seed, each setting swept),
unless the sweep already holds it; the launcher (any of them) then runs it as a job of the sweep,
and skips it like any job whose record the store holds already. `sweep_baseline=false` turns it
off (the report then says what is missing)."""

from __future__ import annotations

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

BASELINE = "baseline"  # `config.rows.BASELINE` (Hydra scans this module on its own: plain values here)


def _experiment(job: list[str]) -> str:
    """The experiment a job's overrides name (the last `experiment=` wins); the default: the baseline."""
    found = [o.split("=", 1)[1] for o in job if o.split("=", 1)[0].lstrip("+~") == "experiment"]
    return found[-1] if found else BASELINE


def _others(job: list[str]) -> tuple[str, ...]:
    """A job's overrides but those that choose or change its experiment."""
    return tuple(o for o in job if not o.split("=", 1)[0].lstrip("+~").split(".")[0] == "experiment")


def with_baselines(jobs: list[list[str]]) -> tuple[list[list[str]], list[list[str]]]:
    """(the baselines' jobs the sweep lacks, the sweep's jobs after them)."""
    have = {_others(j) for j in jobs if _experiment(j) == BASELINE}
    need: list[tuple[str, ...]] = []
    for j in jobs:
        others = _others(j)
        if _experiment(j) != BASELINE and others not in have and others not in need:
            need.append(others)
    added = [[*others, f"experiment={BASELINE}"] for others in need]
    return added, added + [list(j) for j in jobs]


class BaselineFirstSweeper(BasicSweeper):
    """Hydra's basic sweeper with the table's baseline first (see the module's docstring)."""

    def split_arguments(self, overrides, max_batch_size):  # an instance's: it reads the sweep's config
        batches = BasicSweeper.split_arguments(overrides, max_batch_size)
        if self.config is not None and not bool(self.config.get("sweep_baseline", True)):
            return batches
        added, jobs = with_baselines([job for batch in batches for job in batch])
        if not added:
            return batches
        seeds = sorted({o.split("=", 1)[1] for job in added for o in job if o.startswith("seed=")})
        print(f"the sweep has no baseline for its table: {len(added)} baseline job(s) first"
              f"{' (seed ' + ', '.join(seeds) + ')' if seeds else ''}, skipped where stored; sweep_baseline=false: none")  # fmt: skip
        size = max_batch_size or len(jobs)
        return [jobs[i : i + size] for i in range(0, len(jobs), size)]
