"""Where everything lands in a results folder: the one owner of its folder and file names (the
README's "What lands where" table). Every other module asks here rather than joining names or
counting parent folders, so the layout can be read, and changed, in one place.

    <results>/store/<set>/<key>/<record>.json|.npz    records; selection/ and evaluations/ below
    <results>/store/<set>/<key>/.locks/<job>.lock     a job's lock while it runs
    <results>/<set>/<key>/                            the table's report: results.csv, report.md, f_vs_time.png,
                                                      maps.png, table.tex, table.md, test_sets/<set>/
    <results>/<set>/<key>/bench/<device>/<scale>/     its benchmarks; .bench.lock beside bench/
    <results>/checkpoints/<set>/<key>/<job>/last.ckpt a job's checkpoint while it trains
    <results>/runs/, <results>/multiruns/<sweep>/     Hydra's job folders: job.json, record.json,
                                                      model.pt, per_image.npz; a sweep's
                                                      skipped_jobs.json and failed_jobs.json
    <results>/bench/<device>/...                      `fcn-ablation-bench`'s own benchmarks
"""

from __future__ import annotations

from pathlib import Path

STORE, RUNS, MULTIRUNS, CHECKPOINTS, BENCH = "store", "runs", "multiruns", "checkpoints", "bench"
# Under a table's store: the width search's selection records (never a table's rows), later
# evaluations on other sets, and the jobs' locks.
SELECTION, EVALUATIONS, LOCKS = "selection", "evaluations", ".locks"
# In a job folder.
JOB_FILE, RECORD_FILE, MODEL_FILE, PER_IMAGE_FILE = "job.json", "record.json", "model.pt", "per_image.npz"
# In a sweep's folder: the jobs the launcher found done before starting any, and those that failed
# on the cluster (both read by the end-of-sweep report).
SKIPPED_JOBS, FAILED_JOBS = "skipped_jobs.json", "failed_jobs.json"
BENCH_LOCK = ".bench.lock"  # in a report folder: held while its table is benchmarked
# A report folder's files (each also in `test_sets/<set>/` but the two paste tables) and its
# folder of per-test-set reports.
RESULTS_CSV, REPORT_MD, F_VS_TIME_PNG, MAPS_PNG = "results.csv", "report.md", "f_vs_time.png", "maps.png"
TABLE_TEX, TABLE_MD, TEST_SETS = "table.tex", "table.md", "test_sets"


def stores(results_dir: str | Path) -> Path:
    """The folder of every table's store: `<stores>/<set>/<key>/`."""
    return Path(results_dir) / STORE


def store_dir(results_dir: str | Path, dataset: str, key: str) -> Path:
    """A table's store: its records."""
    return stores(results_dir) / dataset / key


def results_of_store(store: str | Path) -> Path | None:
    """The results folder a table's store lies in, or None for a folder that is not one."""
    store = Path(store)
    return store.parent.parent.parent if store.parent.parent.name == STORE else None


def report_dir(results_dir: str | Path, dataset: str, key: str) -> Path:
    """A table's report folder."""
    return Path(results_dir) / dataset / key


def checkpoint_dir(results_dir: str | Path, dataset: str, key: str, name: str) -> Path:
    """Where job `name` keeps its `last.ckpt` while it trains: derived from its identity, so a rerun finds it."""
    return Path(results_dir) / CHECKPOINTS / dataset / key / name


def lock_file(store: str | Path, name: str) -> Path:
    """The lock job `name` holds in its table's store while it runs."""
    return Path(store) / LOCKS / f"{name}.lock"


def bench_root(folder: str | Path) -> Path:
    """The benchmarks of a report folder (its table's variants) or of a results folder (`fcn-ablation-bench`)."""
    return Path(folder) / BENCH


def bench_dir(folder: str | Path, device: str, scale: str) -> Path:
    """One benchmark: of `folder`'s variants, on `device` (its slug), at `scale`."""
    return bench_root(folder) / device / scale
