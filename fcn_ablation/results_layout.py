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
    <results>/bench/<device>/<settings>/               `fcn-ablation-bench`'s and `fcn-ablation-bench-train`'s
                                                      own benchmarks (`bench_settings`)
"""

from __future__ import annotations

from pathlib import Path

STORE, RUNS, MULTIRUNS, CHECKPOINTS, BENCH = "store", "runs", "multiruns", "checkpoints", "bench"
# Under a table's store: the width search's selection records (never a table's rows), later
# evaluations on other sets, and the jobs' locks.
SELECTION, EVALUATIONS, LOCKS = "selection", "evaluations", ".locks"
METHODS = "methods"  # under a table's store: other methods scored from their saved maps
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
# In a test set's report folder: its PR/F/E curves (mean over seeds, and per seed) and the centre
# prior's scores (the floor nothing learned reaches).
CURVES_CSV, CURVES_BY_SEED_CSV, CURVES_PNG = "curves.csv", "curves_by_seed.csv", "curves.png"
CURVES_PDF = "curves.pdf"  # the same figure, as vector graphics for a paper
CENTRE_PRIOR_JSON = "centre_prior.json"
# In a benchmark's folder (`bench_dir`): its summary, every round, its header (`bench.header`), the
# summary in words, the exact config, and the inference benchmark's plot.
BENCH_CSV, RAW_CSV, BENCH_JSON, BENCH_MD = "bench.csv", "raw.csv", "bench.json", "bench.md"
CONFIG_YAML, TIME_VS_MACS_PNG = "config.yaml", "time_vs_macs.png"
# In a training benchmark's folder, with `bench_train.profile_steps`: where its steps' time went.
PROFILE_CSV, PROFILE_MD, TRACE_JSON_GZ = "profile.csv", "profile.md", "trace.json.gz"
# Table 3 under several speed settings (`reporting.speed_table`): in a report folder, one per device
# (`speeds_file`); beside the stand-alone benchmarks, one per input size and width (`speeds_name`).
SPEEDS = "speeds"
LAST_CKPT = "last.ckpt"  # in a job's `checkpoint_dir`
# In a width search's folder: every trial, the Pareto front (table, words, plot), the summary.
TRIALS_CSV, FRONT_CSV, FRONT_MD, FRONT_PNG = "trials.csv", "front.csv", "front.md", "front.png"
SUMMARY_JSON = "summary.json"


def variants_part(names: list[str]) -> str:
    """A benchmark folder's name part for the variants it timed, when chosen (`experiments=[...]`):
    `baseline+a`, so that a benchmark of some variants never overwrites one of all of them; "" for
    all of them (the default); a long list is shortened to its count and a hash."""
    if not names:
        return ""
    joined = "+".join(names)
    if len(joined) <= 40:
        return joined
    import hashlib

    return f"{len(names)}variants-{hashlib.sha1(joined.encode()).hexdigest()[:8]}"


def speeds_file(folder: str | Path, name: str, suffix: str) -> Path:
    """A Table 3 under every speed setting: `<folder>/speeds-<name>.csv|.md|.png`."""
    return Path(folder) / f"{SPEEDS}-{name}{suffix}"


def maps_dir(root: str | Path, method: str, set_name: str) -> Path:
    """Where a method's saved maps of one test set lie: `<root>/<method>/<set>/<image stem>.png`,
    the layout the community's evaluation tools read."""
    return Path(root) / method / set_name


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


def table_of(folder: str | Path) -> tuple[str, str]:
    """(data set, settings key) of a table's store or report folder, read from the folder's place."""
    folder = Path(folder)
    return folder.parent.name, folder.name


def store_of_record(record_path: str | Path) -> Path:
    """The table's store a filed record belongs to (a selection record lies one folder deeper)."""
    parent = Path(record_path).parent
    return parent.parent if parent.name == SELECTION else parent


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


def bench_dir(folder: str | Path, device: str, settings: str) -> Path:
    """One benchmark: of `folder`'s variants (a report folder; its scale as `settings`) or of the
    stand-alone benchmarks' (a results folder), on `device` (`evaluation.timing.device_slug`)."""
    return in_bench_root(bench_root(folder), device, settings)


def in_bench_root(root: str | Path, device: str, settings: str) -> Path:
    """One benchmark under a `bench/` folder given as such (the benchmarks' `out_dir`)."""
    return Path(root) / device / settings


def bench_settings(*parts: object) -> str:
    """What a benchmark timed as its folder name, the one scheme every benchmark's folder follows:
    its parts joined by `-`, e.g. `fp32-b1-400x300-w1` or `train-baseline-synthetic-w1-32-true-b1`."""
    return "-".join(str(p) for p in parts if p != "")
