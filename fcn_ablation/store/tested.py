"""What a trained model scored on each test set: its own split's test, the other sets its job
tested on (`test_on`), and the sets `fcn-ablation-evaluate` scored it on later.

A result on one test set (`SetResult`) is the same value wherever it was written:
- the record's own test split: the record's `scores`, per-image values in its `.npz` at the top;
- a set its job tested on: `record.test_sets[<set>]`, per-image values under `<set>/` in its `.npz`;
- a later evaluation: a file of its own in the table's store,
  `evaluations/<record stem>--<set>--<created>-<suffix>.json` (with the same `test_sets` entry and
  `.npz` layout), so that records stay as they were written and a table's report sees it.

`by_set(records)` gives a table's records as seen on each test set (views: the same rows, that set's
scores and per-image values), which is all a report needs to build each set's table. The
newest result wins where a model was scored twice on a set; a result on other split files (the set
changed) is not the same test and is not reused (`done_on`).
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from fcn_ablation import results_layout
from fcn_ablation.data.splits import split_id
from fcn_ablation.store import filing
from fcn_ablation.store.record import Record, SetEntry

EVALUATIONS = results_layout.EVALUATIONS  # the store's folder of later evaluations
SEP = "--"  # between a record's stem, the set's name and the evaluation's time in a file name


@dataclass(frozen=True)
class SetResult:
    """One model's scores on one test set, and where its per-image values are."""

    name: str  # the test set (`dataset.name`)
    scores: dict  # metric -> mean over the set's test images (`METRICS`)
    test_images: int
    data: dict  # the set's data summary (root, layout, split files and their hash)
    dataset: dict  # the set's `dataset` section as tested (in the training set's input space)
    created: str
    arrays_file: Path | None  # the `.npz` holding its per-image values, or None
    prefix: str  # their keys' prefix in that file ("" or "<set>/")

    @property
    def split_hash(self) -> str | None:
        return self.data.get("split_hash")

    @property
    def split_id(self) -> str | None:
        return split_id(self.data)

    def entry(self) -> SetEntry:
        """It as a record's `test_sets` holds it, under its name."""
        return SetEntry(self.scores, self.test_images, self.data, self.dataset, self.created)


def entry(scores: dict, test_images: int, data: dict, dataset: dict) -> SetEntry:
    """A `test_sets` entry for a set just tested."""
    return SetEntry(scores, test_images, data, dataset, filing.timestamp())


def prefixed(name: str, arrays: dict) -> dict:
    """Per-image arrays of set `name` as a record's `.npz` holds them beside others: under `<name>/`."""
    return {f"{name}/{k}": v for k, v in arrays.items()}


def _from_entry(name: str, e: SetEntry, arrays_file: Path | None, prefix: str) -> SetResult:
    return SetResult(name, e.scores, e.test_images, e.data, e.dataset, e.created, arrays_file, prefix)


def own_result(record: Record) -> SetResult | None:
    """The record's own test split (None for a selection job or a job tested on other sets only)."""
    if not record.test or not record.scores:
        return None
    npz = record.path.with_suffix(".npz") if record.path else None
    return SetResult(record.dataset, record.scores, record.test_images, record.data,
                     dict(record.config.get("dataset", {})), record.created, npz, "")  # fmt: skip


def evaluation_files(record: Record) -> list[Path]:
    """The later evaluations of a stored record, in the table's store."""
    if record.path is None:
        return []
    folder = results_layout.store_of_record(record.path) / EVALUATIONS
    return sorted(folder.glob(f"{glob.escape(record.path.stem)}{SEP}*.json")) if folder.is_dir() else []


def results_of(record: Record, log=None) -> dict[str, SetResult]:
    """{test set: the newest result} of one stored record, from every place one is written."""
    found: list[SetResult] = []
    own = own_result(record)
    if own is not None:
        found.append(own)
    npz = record.path.with_suffix(".npz") if record.path else None
    found += [_from_entry(n, e, npz, f"{n}/") for n, e in record.test_sets.items()]
    for path in evaluation_files(record):
        for rec, p in filing.readable_records([path], log):
            found += [_from_entry(n, e, p.with_suffix(".npz"), f"{n}/") for n, e in rec.test_sets.items()]
    out: dict[str, SetResult] = {}
    for r in sorted(found, key=lambda r: r.created):
        out[r.name] = r
    return out


def done_on(record: Record, name: str, split: str | None, eval_input: str | None = None) -> SetResult | None:
    """The record's result on set `name` tested on the same split files (and, given `eval_input`,
    at the same input size: "native" or "HxW"), if it has one."""
    r = results_of(record).get(name)
    if r is None or r.split_id != split:
        return None
    return r if eval_input is None or r.data.get("eval_input", "native") == eval_input else None


def file_evaluation(record: Record, name: str, result: SetEntry, arrays: dict | None, config: dict) -> Path:
    """File a later evaluation of a stored `record` on set `name` (`result`: an `entry`; `arrays`
    unprefixed) beside the table's records; `config`: what the evaluation ran with. The `.npz`
    lands first, the `.json` makes it count (as `filing.file_record`)."""
    folder = results_layout.store_of_record(record.path) / EVALUATIONS
    stem = f"{record.path.stem}{SEP}{name}{SEP}{result.created}-{uuid.uuid4().hex[:6]}"
    if arrays is not None:
        filing.write_arrays(folder / f"{stem}.npz", prefixed(name, arrays))
    return filing.write_json(folder / f"{stem}.json", evaluation(record, name, result, config).to_json())


def evaluation(record: Record, name: str, result: SetEntry, config: dict) -> Record:
    """The record of a later evaluation of `record` on set `name`: who it scored, and the result
    (the rest of a record is the scored record's own)."""
    return Record.holding(experiment=record.experiment, job=record.job, seed=record.the_seed,
                          evaluation_of=record.path.name, dataset=record.dataset, settings_key=record.settings_key,
                          test_sets={name: result}, created=result.created, config=config)  # fmt: skip


def by_set(recs: list[Record], log=None) -> dict[str, list[Record]]:
    """{test set: the records with a result on it, each as a view on that set}, the table's own set
    first, then by name. A view has that set's scores, test image count and data summary (and the
    set's section as the config's `dataset`), its per-image values found through `path` and
    `arrays_prefix`; the rest of the record is its own. Each record's results are read once.
    Rows of one table share a test set: results on other split files than the set's newest result's
    (the set changed between evaluations) are left out, with a warning naming them."""
    log = log or logging.getLogger(__name__)
    found: dict[str, list[tuple[Record, SetResult]]] = {}
    for r in recs:
        for name, res in results_of(r, log).items():
            found.setdefault(name, []).append((r, res))
    own = [recs[0].dataset] if recs and recs[0].dataset in found else []
    return {name: _views(name, found[name], log) for name in own + sorted(set(found) - set(own))}


def _views(name: str, found: list[tuple[Record, SetResult]], log) -> list[Record]:
    newest = max(found, key=lambda f: f[1].created)[1].split_id
    other = [r for r, res in found if res.split_id != newest]
    if other:
        log.warning(
            "%s: %d records were tested on other split files than the newest (%s), e.g. %s; left out of its table "
            "(score them again: fcn-ablation-evaluate dataset=%s rerun=true models=[...])",
            name, len(other), newest, other[0].path, name,
        )  # fmt: skip
    out = []
    for r, res in found:
        if res.split_id != newest:
            continue
        path = res.arrays_file.with_suffix(".json") if res.arrays_file is not None else None
        config = {**r.config, "dataset": res.dataset or r.config.get("dataset", {})}
        out.append(dataclasses.replace(r, scores=res.scores, test_images=res.test_images, data=res.data,
                                       config=config, path=path, arrays_prefix=res.prefix))  # fmt: skip
    return out


# ----------------------------------------------------------------------------- other methods
def file_method(store: Path, method: str, name: str, result: SetEntry, arrays: dict, maps: Path) -> Path:
    """File another method's scores on set `name`, from its saved maps in `maps`, beside a table's
    records (`<store>/methods/`), where the report of that set shows it beside our rows."""
    folder = Path(store) / results_layout.METHODS
    stem = f"{method}{SEP}{name}{SEP}{result.created}-{uuid.uuid4().hex[:6]}"
    filing.write_arrays(folder / f"{stem}.npz", prefixed(name, arrays))
    dataset, key = results_layout.table_of(store)
    record = Record.holding(experiment=method, dataset=dataset, settings_key=key, init_tag=SAVED_MAPS, maps=str(maps),
                            test_sets={name: result}, created=result.created,
                            config={"maps": str(maps), "set": name})  # fmt: skip
    return filing.write_json(folder / f"{stem}.json", record.to_json())


SAVED_MAPS = "saved maps"  # the row label of a method scored from its maps


def methods_by_set(store: Path, log=None) -> dict[str, list[Record]]:
    """{test set: other methods' results on it, as views (`by_set`)}: the newest per method."""
    folder = Path(store) / results_layout.METHODS
    recs = [r for r, _ in filing.readable_records(folder.glob("*.json"), log)] if folder.is_dir() else []
    newest: dict[tuple[str, str], Record] = {}
    for r in sorted(recs, key=lambda r: r.created):
        for name in r.test_sets:
            newest[(r.experiment, name)] = r
    out: dict[str, list[Record]] = {}
    for (_, name), r in sorted(newest.items(), key=lambda item: item[0]):
        out.setdefault(name, []).extend(v for v in by_set([r], log).get(name, []))
    return out
