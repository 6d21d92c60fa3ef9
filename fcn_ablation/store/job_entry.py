"""A job's entry: which stored record a job of a sweep stands for, the one type of `job.json` (in
each job folder) and of each entry of a sweep's `skipped_jobs.json` (the jobs its launcher found
done before starting any). The end-of-sweep report finds the sweep's tables and its diverged jobs
through them, `fcn-ablation-evaluate` a sweep's records, the width search its trials' records."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from fcn_ablation import results_layout
from fcn_ablation.files import atomic_write_text


@dataclass(frozen=True)
class JobEntry:
    # every field has a default: a file of an older version, or cut by hand, still names its record
    job: str | None = None  # the job's name (`records.job_name`)
    dataset: str = ""
    settings_key: str = ""  # the job's table
    record: str | None = None  # its stored record, relative to the results folder; None: a diverged job filed none
    skipped: bool = False  # found done, not trained
    test: bool = True  # false: a selection job, which joins no table
    diverged: str | None = None  # why its training diverged
    overrides: list[str] | None = None  # a skipped entry's command-line overrides

    def to_json(self) -> dict:
        """The JSON object, in the key order jobs have always written (unset optional keys left out)."""
        data = dataclasses.asdict(self)
        return {k: v for k, v in data.items() if v is not None or k in ("job", "record")}

    @classmethod
    def from_json(cls, data: dict) -> JobEntry:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def joins_a_table(self) -> bool:
        """A tested job with a record: its table is one of the sweep's."""
        return self.test and self.record is not None and bool(self.dataset and self.settings_key)


def write_job_file(folder: str | Path, entry: JobEntry) -> Path:
    from fcn_ablation.store.filing import write_json

    return write_json(Path(folder) / results_layout.JOB_FILE, entry.to_json())


def read_job_file(path: str | Path) -> JobEntry:
    """A `job.json` (`OSError`, `ValueError` or `TypeError` where it is unreadable or not one)."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return JobEntry.from_json(data)


def skipped_entries(sweep_dir: str | Path) -> list[JobEntry]:
    """The sweep's `skipped_jobs.json` entries (none where it has none)."""
    path = Path(sweep_dir) / results_layout.SKIPPED_JOBS
    return [JobEntry.from_json(e) for e in json.loads(path.read_text())] if path.is_file() else []


def add_skipped(sweep_dir: str | Path, entries: list[JobEntry]) -> Path:
    """Append `entries` to the sweep's `skipped_jobs.json`."""
    path = Path(sweep_dir) / results_layout.SKIPPED_JOBS
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = [e.to_json() for e in skipped_entries(sweep_dir)]
    return atomic_write_text(path, json.dumps(previous + [e.to_json() for e in entries], indent=2))
