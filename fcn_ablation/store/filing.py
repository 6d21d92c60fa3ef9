"""Result records: one JSON per job, holding everything a table needs plus the exact config.

Every record is also filed in a store, `results/store/<dataset>/<settings key>/`, where the
settings key (`config.settings_key`) says which records are rows of one table: trained with
the same settings and tested on the same images. A report then finds, for instance, the baseline that an earlier
sweep of the same data set and settings produced. Records are never overwritten.

Beside each record `<name>.json` lies `<name>.npz`: every test image's metric values (F and E
curves, S, weighted F, MAE, adaptive F and E) under the image's name, and the 8-bit saliency maps
of a few fixed test images. The report's paired tests and map grid read them.
"""

from __future__ import annotations

import glob
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from fcn_ablation import results_layout
from fcn_ablation.config.rows import BASELINE, effective_start, row_order, training_epochs
from fcn_ablation.errors import DataError, warn_once
from fcn_ablation.files import atomic_write
from fcn_ablation.models.choices import InitSource
from fcn_ablation.store.record import Record


def timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def write_json(path: Path, data: dict) -> Path:
    return atomic_write(
        Path(path), lambda f: f.write(json.dumps(data, indent=2, sort_keys=False, default=str).encode())
    )


# A table's store is `results_layout.store_dir`; its `results_layout.SELECTION` folder holds the
# selection jobs' records (`test=false`, the width search's trials): validation scores only, never
# read by a report, so a table holds tested rows alone.


def record_dirs(store: Path, tested_only: bool) -> list[Path]:
    """The folders of a table's store a job may find its records in: the table itself, and its
    selection records too unless `tested_only`."""
    return [Path(store)] if tested_only else [Path(store), Path(store) / results_layout.SELECTION]


def write_arrays(path: Path, arrays: dict) -> Path:
    """`arrays` as a compressed `.npz`, written atomically."""
    return atomic_write(Path(path), lambda f: np.savez_compressed(f, **arrays))


def file_record(record: Record, results_dir: str | Path, arrays: dict | None = None) -> Path:
    """Add `record` (and its per-image `arrays`) to the store under a new name: its job (experiment,
    seed, identity digest), time and a random suffix, so writers on many machines never pick the
    same one. The `.npz` lands first and the `.json` makes the pair a record: readers look for
    `.json` files only, so a crash between the two leaves an `.npz` no one reads, which the job's
    next filing removes (`remove_orphans`; the caller holds the job's lock)."""
    import uuid

    d = results_layout.store_dir(results_dir, record.dataset, record.settings_key)
    if not record.test:
        d = d / results_layout.SELECTION
    prefix = record.job or record.experiment
    if record.job:
        remove_orphans(d, prefix)
    stem = f"{prefix}-{record.created}-{uuid.uuid4().hex[:6]}"
    if arrays is not None:
        write_arrays(d / f"{stem}.npz", arrays)
    return write_json(d / f"{stem}.json", record.to_json())


def remove_orphans(folder: Path, job: str) -> list[Path]:
    """Remove what a crashed filing of job `job` left in a store folder: an `.npz` without its
    `.json`, and temporary files of interrupted writes. Only the holder of the job's lock may call
    it (no other writer files that job's records meanwhile)."""
    import logging

    removed = []
    if not Path(folder).is_dir():
        return removed
    for p in sorted(Path(folder).glob(f"{job}-*.npz")):
        if not p.with_suffix(".json").exists():
            removed.append(p)
    removed += sorted(Path(folder).glob(f".{job}-*.tmp"))
    for p in removed:
        logging.getLogger(__name__).warning("%s: left by an interrupted filing of this job; removed", p)
        p.unlink(missing_ok=True)
    return removed


def relative_to(path: str | Path, results_dir: str | Path) -> str:
    """`path` as a record holds it: relative to the results folder when inside it, so a results
    folder copied elsewhere (another machine, a fresh clone) still resolves it."""
    path, base = Path(path).resolve(), Path(results_dir).resolve()
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def resolve(path: str | Path, results_dir: str | Path) -> Path:
    """A path from a record: relative ones are under the results folder."""
    path = Path(path)
    return path if path.is_absolute() else Path(results_dir) / path


def inside(path: str | Path, results_dir: str | Path, named_by: str | Path) -> Path:
    """`path`, as a record or job file (`named_by`) names it, resolved (links and `..` followed)
    if it lies inside the results folder; else a `DataError` naming that file. A store is shared
    by a group: a path that leads out of it (absolute elsewhere, `../..`) would let one edited
    file put anyone's weights under a record's name, so nothing outside is ever read."""
    root = Path(results_dir).resolve()
    found = resolve(path, results_dir).resolve()
    if not found.is_relative_to(root):
        raise DataError(
            f"{named_by}: names {path}, outside the results folder {root}; only job folders under the results "
            "folder that holds the record are read: move the job folder there, or retrain the job"
        )
    return found


def results_root(record: Record, results_dir: str | Path) -> Path:
    """The results folder a record belongs to: the one holding its store
    (`<results>/store/<set>/<key>/`), whichever results folder a command was given; `results_dir`
    for a record outside any store (a job folder's copy)."""
    root = (
        results_layout.results_of_store(results_layout.store_of_record(record.path))
        if record.path is not None
        else None
    )
    return root if root is not None else Path(results_dir)


def job_folder(record: Record, results_dir: str | Path) -> Path:
    """The job folder of a stored record (`output_dir`), inside the results folder it belongs to
    (`results_root`, `inside`)."""
    if not record.output_dir:
        raise DataError(f"{record.path}: the record names no job folder, so no weights; retrain it")
    return inside(record.output_dir, results_root(record, results_dir), record.path or record.job or record.experiment)


def weights_of(record: Record, results_dir: str | Path) -> Path:
    """The `model.pt` a stored record scored: in its job folder (`job_folder`), and, where the
    record holds its digest (`weights_sha256`, every record since it was added), the very file it
    scored: weights replaced after the fact never pass under its name."""
    path = job_folder(record, results_dir) / results_layout.MODEL_FILE
    if not path.is_file():
        raise DataError(
            f"{path}: no weights of {record.path.name if record.path else record.job} (trained with save_checkpoint=false, "
            "or the job folder was moved or deleted); retrain it, or copy the job folder back"
        )
    if record.weights_sha256 is not None and file_digest(path) != record.weights_sha256:
        raise DataError(
            f"{path}: not the weights {record.path or record.job} scored (its weights_sha256 differs); "
            "the file was replaced after the record was filed: retrain the job, or restore its own model.pt"
        )
    return path


def file_digest(path: str | Path) -> str:
    """The SHA-256 of a file, as a record holds it for the weights it scored (`weights_sha256`)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# What every record in a store holds, with its type: a file without them is not a record (a stray
# JSON file, one cut short by hand, another tool's), and no job lookup may read it. A table needs
# more (`TABLE_FIELDS`, checked where one is built).
REQUIRED = {"experiment": str, "created": str}
TABLE_FIELDS = {"changed_layers": list, "widths": dict, "params": (int, float), "macs": (int, float),
                "test_images": int, "device": str, "detection_ms_per_image": (int, float)}  # fmt: skip


def read_arrays(record_path: Path, prefix: str = "") -> dict | None:
    """The per-image arrays filed beside a record, or None (records older than them have none);
    with `prefix` (`<set>/`), those of another test set, without it. An unreadable file (cut short,
    not a zip, not NumPy's) is a `DataError` naming it."""
    path = Path(record_path).with_suffix(".npz")
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            found = {k[len(prefix) :]: z[k] for k in z.files if k.startswith(prefix)}
            return found if found or not prefix else None
    except Exception as err:  # noqa: BLE001 - BadZipFile, EOFError, ValueError, OSError, zlib.error: all one verdict
        raise DataError(
            f"{path}: not a readable per-image file ({type(err).__name__}: {err}); move it and its record "
            f"({path.with_suffix('.json').name}) out of the store, or delete both and rerun the job"
        ) from None


def read_record(path: Path, required: dict | None = None) -> Record:
    """A result record; `DataError` naming the file when it is not one (not UTF-8, not JSON, not a
    record's shape: `REQUIRED`, and `required` too when given)."""
    path = Path(path)
    fix = "move it out of the results folder (or delete it) and rerun"
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise DataError(f"{path}: not a readable result record ({type(err).__name__}: {err}); {fix}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: not a result record (a JSON {type(data).__name__}, not an object); {fix}")
    wrong = [k for k, t in {**REQUIRED, **(required or {})}.items() if not isinstance(data.get(k), t)]
    if wrong:
        raise DataError(f"{path}: not a result record (missing or mistyped: {', '.join(wrong)}); {fix}")
    try:
        return Record.from_json(data, path)
    except TypeError as err:  # a field of the wrong form for the type (a list where a dict belongs...)
        raise DataError(f"{path}: not a result record ({err}); {fix}") from None


def read_records(paths) -> list[Record]:
    return [read_record(p) for p in sorted(paths)]


def readable_records(paths, log=None, required: dict | None = None) -> list[tuple[Record, Path]]:
    """(record, path) of every readable record among `paths`; each unreadable one is a warning
    naming it (`read_record`'s line) and is left out, so one bad file never stops a lookup or a
    table built from the rest."""
    import logging

    log = log or logging.getLogger(__name__)
    out = []
    for p in sorted(paths):
        try:
            out.append((read_record(p, required), Path(p)))
        except DataError as err:
            warn_once(f"left out: {err}", log)
    return out


# Row identity: what a record's row is, and which baseline is the reference. Pure config logic
# over stored records (the report reads them without torch).
def row_label(record: Record) -> str:
    """A report row's initialisation: where the weights started, plus the training budget when
    it is not the table's own (`epochs`), so 2 epochs from scratch never pass for 7."""
    return label_of_row(record.init_tag, record.epochs, record.table_epochs)


def label_of_row(init_tag: str, epochs: int | None, table_epochs: int | None) -> str:
    """`row_label` from its parts, for a job that has no record yet (it names its saved maps)."""
    return init_tag if epochs is None or epochs == table_epochs else f"{init_tag}, {epochs} epochs"


def is_reference_baseline(record: Record, start: str | None = None) -> bool:
    """Whether a record is a baseline a table measures against and variants are cut from: the
    baseline experiment, trained from its own start (scratch or ImageNet; `start` when given) for
    the table's budget. A baseline continued from a checkpoint, or trained a budget of its own, is
    a row, not the reference."""
    own = record.start in (InitSource.scratch, InitSource.imagenet) and (start is None or record.start == start)
    return record.experiment == BASELINE and own and row_label(record) == record.init_tag


# Scales a table's variants are timed at (`bench.inference.bench_table`, read back by the report).
def scale_name(width_multiplier: float, height: int, width: int) -> str:
    return f"w{width_multiplier:g}-{width}x{height}"


def table_scales(recs: list[Record], width_multiplier: float) -> list[tuple[dict, str, tuple[int, int]]]:
    """The scales a table's variants are timed at, each as (widths, scale name, (height, width)):
    the target scale (`width_multiplier` of Table 1's widths at the records' MACs input size), then,
    when it differs, the trained scale (the records' own widths at their test images' typical size)."""
    hw = tuple(recs[0].cost_input_hw)
    out = [(table_widths(recs, width_multiplier), scale_name(width_multiplier, *hw), hw)]
    trained_hw = tuple(recs[0].test_image_hw or hw)
    trained = scale_name(float(recs[0].width_multiplier), *trained_hw)
    if trained != out[0][1]:
        out.append((table_widths(recs), trained, trained_hw))
    return out


def table_widths(recs: list[Record], width_multiplier: float | None = None) -> dict[str, dict[str, int]]:
    """{experiment: widths} of a table, in row order: as trained (`width_multiplier` None), or at
    another scale (the records' factors applied to Table 1's widths)."""
    out: dict[str, dict[str, int]] = {}
    for r in sorted(recs, key=lambda r: row_order(r.experiment)):
        if width_multiplier is None:
            out[r.experiment] = r.widths
        else:
            trained = float(r.width_multiplier)
            out[r.experiment] = {k: max(1, round(v * width_multiplier / trained)) for k, v in r.widths.items()}
    return out


# Jobs: what tells one row's job from another's within a table, and whether the store holds it.
def _plain(section) -> dict:
    """A config section as the record's JSON holds it."""
    return json.loads(json.dumps(OmegaConf.to_container(section, resolve=True, enum_to_str=True), default=str))


def _effective_init(init: dict, is_baseline: bool, epochs: int) -> dict:
    """Of an init section, what decides the weights a job trains from: the baseline experiment of
    an `init=baseline` sweep starts from `baseline_from` and is the same job as that start's own
    baseline; the cut-down rule matters only when something is cut."""
    source = effective_start(
        init.get("source", InitSource.scratch.value), init.get("baseline_from", InitSource.scratch.value), is_baseline
    )
    keep = {InitSource.scratch: (), InitSource.imagenet: ("path", "url", "rule", "seed"),
            InitSource.checkpoint: ("path", "rule", "seed"), InitSource.baseline: ("baseline_from", "rule", "seed")
            }.get(source, tuple(init))  # fmt: skip
    return {"source": source, "epochs": epochs, **{k: init.get(k) for k in keep}}


def identity(cfg) -> dict:
    """What tells one row's job from another's within a table: the experiment, where its weights
    start (as trained, see `_effective_init`) and for how long, and the seed."""
    from fcn_ablation.config.experiments import is_baseline  # jobs only: the report reads no schema

    baseline = is_baseline(cfg.experiment)
    init = _effective_init(_plain(cfg.init), baseline, training_epochs(cfg.init, cfg.trainer.max_epochs, baseline))
    return {"experiment": _plain(cfg.experiment), "init": init, "seed": int(cfg.seed)}


def job_name(cfg) -> str:
    digest = hashlib.sha256(json.dumps(identity(cfg), sort_keys=True).encode()).hexdigest()[:8]
    return f"{cfg.experiment.name}-seed{cfg.seed}-{digest}"


def same_job(record: Record, name: str, cfg) -> bool:
    """Whether `record` is of job `name` (`job_name(cfg)`, worked out once by the caller): by the
    name it holds; a record older than names (no `job`) by the identity of the config it holds."""
    if record.job is not None:
        return record.job == name
    if cfg is None:
        return False
    config = record.config
    if not config or "init" not in config or "experiment" not in config:
        return False
    try:
        return identity(OmegaConf.create(config)) == identity(cfg)
    except Exception:  # a record of an older layout: never the same job
        return False


def done_record(store: Path, name: str, experiment: str, test: bool, cfg=None) -> Path | None:
    """The newest record of job `name` (`job_name`) of `experiment` in its table's store, or None. A
    selection job (`test=false`) is done by a tested record too (it holds validation scores as well);
    a tested job only by a tested one. Records are filed under their job's name, older ones under
    their experiment's: both start with the experiment's name. `cfg`: the job's config, read only to
    tell a record older than job names by its config's identity (`same_job`)."""
    found = readable_records(
        p for d in record_dirs(store, tested_only=test) for p in d.glob(f"{glob.escape(experiment)}-*.json")
    )
    found = sorted((r.created, p) for r, p in found if same_job(r, name, cfg))
    return found[-1][1] if found else None


def reference_baseline(store: Path, results_dir: str | Path, start: str, seed: int) -> Path | None:
    """The checkpoint of the newest baseline in `store` (tested or a selection job's: the weights
    are what counts) trained from `start` for the table's budget (`is_reference_baseline`) with
    `seed`, or None."""
    found = []
    for r, _ in readable_records(
        p for d in record_dirs(store, tested_only=False) for p in d.glob(f"{BASELINE}-*.json")
    ):
        if not (is_reference_baseline(r, start) and r.the_seed == int(seed) and r.output_dir):
            continue
        try:
            ckpt = weights_of(r, results_dir)
        except DataError as err:  # out of the store, or other weights than it scored: never a start
            warn_once(str(err))
            continue
        found.append((r.created, ckpt))
    return max(found)[1] if found else None
