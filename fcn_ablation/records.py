"""Result records: one JSON per job, holding everything a table needs plus the exact config.

Every record is also filed in a store, `results/store/<dataset>/<settings key>/`, where the
settings key hashes the config minus what may differ between rows of one table (the
experiment, logging, paths). A report then finds, for instance, the baseline that an earlier
sweep of the same data set and settings produced. Records are never overwritten.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

from omegaconf import OmegaConf

from fcn_ablation.errors import DataError

# Config sections that do not change what a row of a table measures.
# `init` is a row attribute too: the variants of one table may start from the baseline, from
# scratch, with one rule or another (the record's `init_tag` tells them apart).
NOT_SETTINGS = ("experiment", "logger", "paths", "save_checkpoint", "init")
NOT_SETTINGS_TRAINER = ("enable_progress_bar", "enable_model_summary", "log_every_n_steps")


def settings_key(cfg) -> str:
    """Short hash of the settings that must agree for two experiments to share a table."""
    data = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    for k in NOT_SETTINGS:
        data.pop(k, None)
    for k in NOT_SETTINGS_TRAINER:
        data.get("trainer", {}).pop(k, None)
    for k in ("num_workers", "download", "sources"):  # how the files arrive, not which they are
        data.get("dataset", {}).pop(k, None)
    # How the timing options are chosen is not a setting: the record names the ones used (`detection_settings`).
    for k in ("loader_images", "best_benchmarked"):
        data.get("timing", {}).pop(k, None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]


def timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def write_json(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str))
    tmp.replace(path)
    return path


def store_dir(results_dir: str | Path, dataset: str, key: str) -> Path:
    return Path(results_dir) / "store" / dataset / key


def file_record(record: dict, results_dir: str | Path) -> Path:
    """Add `record` to the store under a new, time-stamped name."""
    d = store_dir(results_dir, record["dataset"], record["settings_key"])
    return write_json(d / f"{record['experiment']}-{record['created']}.json", record)


def read_record(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: not a readable result record ({err}); move it out of the results folder") from err


def read_records(paths) -> list[dict]:
    return [read_record(p) for p in sorted(paths)]


def latest_per_row(records: list[dict], label) -> dict[tuple[str, str], dict]:
    """The newest record of each (experiment, `label(record)`) pair."""
    out: dict[tuple[str, str], dict] = {}
    for r in sorted(records, key=lambda r: r["created"]):
        out[(r["experiment"], label(r))] = r
    return out
