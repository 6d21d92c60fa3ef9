"""Which stored records a command line means: a table key, a table's store folder, a sweep's
folder, or record files (`fcn-ablation-evaluate models=[...]`). Each spec gives the tested records
it names (selection jobs' records join no table and are never meant), or a `DataError` saying what
it was taken for and what was found."""

from __future__ import annotations

from pathlib import Path

from fcn_ablation import results_layout
from fcn_ablation.errors import DataError
from fcn_ablation.store import filing
from fcn_ablation.store.job_entry import read_job_file
from fcn_ablation.store.record import Record


def _store_records(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))


def _sweep_records(folder: Path, results_dir: Path) -> list[Path]:
    """The records a sweep's jobs name in their `job.json` (a skipped job names the record it found)."""
    found = []
    for job in sorted(folder.rglob(results_layout.JOB_FILE)):
        try:
            rec = read_job_file(job).record
        except (OSError, ValueError, TypeError) as err:
            raise DataError(f"{job}: not a readable job file ({err}); remove it or name the records directly") from None
        if rec:  # a path inside the results folder, or refused naming the job file
            found.append(filing.inside(rec, results_dir, job))
    return found


def record_files(spec: str, results_dir: str | Path) -> list[Path]:
    """The record files `spec` names (see the module's docstring)."""
    results_dir = Path(results_dir)
    path = Path(spec).expanduser()
    if path.suffix == ".json" and path.is_file():
        return [path]
    if path.is_dir():
        if any(path.rglob(results_layout.JOB_FILE)):
            found = _sweep_records(path, results_dir)
            what = "a sweep's folder"
        else:
            found = _store_records(path)
            what = "a table's store folder"
        if not found:
            raise DataError(f"{path}: taken for {what}, but it names no result record; pass a store folder, a sweep "
                            "folder or record files")  # fmt: skip
        return found
    if "/" not in spec and not path.suffix:  # a table key
        found = sorted(p for d in results_layout.stores(results_dir).glob(f"*/{spec}") for p in _store_records(d))
        if found:
            return found
        raise DataError(f"{spec}: no table with this key under {results_layout.stores(results_dir)} (and no such file or folder); "
                        "pass a key listed there, or paths.results_dir=DIR")  # fmt: skip
    raise DataError(f"{spec}: no such record file, store folder or sweep folder")


def tested_records(specs, results_dir: str | Path, log=None) -> list[Record]:
    """The readable tested records of every spec, each once, in the order named (selection jobs'
    records and the files of later evaluations are not models to score)."""
    paths = list(dict.fromkeys(p.resolve() for s in specs for p in record_files(str(s), results_dir)))
    recs = [r for r, _ in filing.readable_records(paths, log)]
    return [r for r in recs if r.test and r.evaluation_of is None]  # an evaluation's file is not a model
