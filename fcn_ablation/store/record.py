"""The result record: what one job produced, as one typed value.

A job builds a `Record`; the store writes it as a flat JSON object (`to_json`), the form every
record since the first was written in, and reads it back with `Record.from_json`, which accepts
every older form (fields added later are absent there, and stay absent when it is written again,
so an old file reads back unchanged). Readers use attributes: `r.scores["max_f"]`, `r.widths`,
`r.split_hash`; only this module knows the JSON's key names.

The metrics (`evaluation.registry.METRICS`): a record holds their means over the test split
(`scores`) and, since selection jobs exist, over the validation split (`val_scores`, in JSON under
`val_<name>`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fcn_ablation.evaluation.registry import METRICS
from fcn_ablation.models.choices import InitSource

VAL = "val_"  # the JSON prefix of a validation score

NOT_WRITTEN = ("extra", "path", "absent", "arrays_prefix")  # fields of the value, not of the file

# The data module's summary (`SaliencyDataModule.summary`): kept as it came, under `data`.
DATA_PREFIXES = ("data_", "split_")


@dataclass(frozen=True)
class SetEntry:
    """A model's result on one more test set, as a record holds it under that set's name in
    `test_sets` (a set its job tested on, or a later evaluation's); its per-image values lie in the
    record's `.npz` under `<set>/`."""

    scores: dict  # metric -> mean over the set's test images
    test_images: int
    data: dict  # the set's data summary (root, layout, split files and their hash)
    dataset: dict  # the set's `dataset` section as tested (in the training set's input space)
    created: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> SetEntry:
        """An entry as any writer left it (a missing field reads as empty)."""
        return cls(dict(data.get("scores", {})), int(data.get("test_images", 0)), dict(data.get("data", {})),
                   dict(data.get("dataset", {})), str(data.get("created", "")))  # fmt: skip


@dataclass
class Record:
    """One job's result: what was trained (experiment, widths, initialisation, settings key,
    seed), its scores, its cost and timing pass, its data set's summary, and the exact config."""

    experiment: str
    created: str
    job: str | None = None  # `store.filing.job_name`: the store's file names start with it
    description: str = ""
    dataset: str = ""
    preset: str | None = None
    recipe: str | None = None
    init_tag: str = InitSource.scratch.value
    init: dict = field(default_factory=dict)
    settings_key: str = ""
    seed: int | None = None  # older records hold it in their config only (`the_seed`)
    # a later evaluation's file (`store.tested.file_evaluation`): the name of the record it scored;
    # such a file holds that record's result on one more set, and is no model of its own
    evaluation_of: str | None = None
    # another method scored from its saved maps (`store.tested.file_method`): the folder of maps it
    # scored; such a record has no network of ours, so no size, cost or time
    maps: str | None = None
    changed_layers: list = field(default_factory=list)
    factors: dict = field(default_factory=dict)
    width_multiplier: float | None = None
    widths: dict = field(default_factory=dict)
    params: float = 0.0
    macs: float = 0.0
    cost_input_hw: list | None = None
    test: bool = True  # false: a selection job (validation scores only, filed apart)
    scores: dict = field(default_factory=dict)
    val_scores: dict = field(default_factory=dict)
    test_image_hw: list | None = None
    detection_total_s: float | None = None
    detection_ms_per_image: float | None = None
    detection_images: int | None = None
    detection_load_s: float | None = None
    detection_settings: str | None = None
    detection_settings_from: str | None = None
    lr: float | None = None  # the rate it trained at (`optimizer.lr_by_start` applied)
    # the table's own settings: its optimiser (`adamw`, `sgd`, ...), rate (`optimizer.lr`) and batch
    table_lr: float | None = None
    optimizer: str | None = None
    batch_size: int | None = None
    # the epochs it trained for (`init.epochs` after a transfer, else `trainer.max_epochs`), and its
    # table's own budget (`trainer.max_epochs`): a row trained another budget says so. Records older
    # than the fields have them worked out from their config when read (`from_json`), not written back
    epochs: int | None = None
    table_epochs: int | None = None
    train_s: float | None = None
    train_steps: int | None = None
    train_compilations: int | None = None
    untrained: bool = False
    same_widths_as_baseline: bool = False
    resumed_from: dict | None = None
    test_images: int = 0
    data: dict = field(default_factory=dict)  # the data module's summary: data_*, split_* keys
    # the other sets it was tested on after training (`test_on`), by name; their per-image values
    # are in the record's `.npz` under `<name>/`
    test_sets: dict[str, SetEntry] = field(default_factory=dict)
    device: str = ""
    torch: str | None = None
    output_dir: str | None = None
    # the SHA-256 of the job folder's `model.pt` it scored (`store.filing.weights_of` checks it);
    # None in records older than it, and where no weights were kept
    weights_sha256: str | None = None
    config: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # keys of a newer or other writer: kept, written back
    path: Path | None = None  # where the store holds it (not written)
    # where its per-image values lie in the `.npz` beside `path` (not written): "" for the record's
    # own test split; `<set>/` for a view of it on another test set (`store.tested.by_set`)
    arrays_prefix: str = ""
    absent: frozenset = frozenset()  # fields the file did not hold: not written back either

    # ---- derived values
    @property
    def is_baseline(self) -> bool:
        """Nothing cut: the baseline experiment, or any whose factors are all 1 (`config.rows.is_baseline`)."""
        from fcn_ablation.config.rows import is_baseline

        return is_baseline(self.changed_layers)

    @property
    def the_seed(self) -> int:
        """The seed it was trained with (older records hold it only in their config)."""
        return int(self.seed if self.seed is not None else self.config.get("seed", 0))

    @property
    def split_hash(self) -> str | None:
        return self.data.get("split_hash")

    @property
    def split_id(self) -> str | None:
        """Which test split it was scored on (`data.splits.split_id`): what tells two tests apart."""
        from fcn_ablation.data.splits import split_id

        return split_id(self.data)

    @property
    def headline(self) -> dict[str, float]:
        """Its headline scores: the test split's (a job tested on other sets only: the first of
        them), or a selection job's validation ones."""
        if not self.test:
            return self.val_scores
        return self.scores or next((e.scores for e in self.test_sets.values()), {})

    @property
    def start(self) -> str:
        """Where its weights started (`init.source`; scratch for records older than initialisation)."""
        return self.init.get("source", InitSource.scratch.value)

    @classmethod
    def holding(cls, **values) -> Record:
        """A record of these fields alone (a later evaluation's, another method's): every other field
        is absent, so its file holds only these."""
        written = {f.name for f in dataclasses.fields(cls)} - {*NOT_WRITTEN, *values}
        return cls(**values, absent=frozenset(written))

    # ---- the JSON form
    def to_json(self) -> dict[str, Any]:
        """The flat JSON object the store holds (key order as jobs have always written it)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "config":  # `created` is written near the end, before the config
                out["created"] = self.created
            if f.name in self.absent or f.name in NOT_WRITTEN:
                continue
            value = getattr(self, f.name)
            if f.name == "scores":
                out.update(value)
            elif f.name == "val_scores":
                out.update({VAL + k: v for k, v in value.items()})
            elif f.name == "data":
                out.update(value)
            elif f.name == "test_sets":
                out[f.name] = {name: e.to_json() for name, e in value.items()}
            elif f.name == "created":  # see "config"
                continue
            elif not (f.name == "job" and value is None):
                out[f.name] = value
        return {**out, **self.extra}

    @classmethod
    def from_json(cls, data: dict, path: Path | str | None = None) -> Record:
        """A record from its JSON object (any form the store has held); keys it does not know
        stay in `extra`."""
        names = {f.name for f in dataclasses.fields(cls)} - {"scores", "val_scores", "data", *NOT_WRITTEN}
        known, scores, val, summary, extra = {}, {}, {}, {}, {}
        for k, v in data.items():
            if k in METRICS:
                scores[k] = v
            elif k.startswith(VAL) and k[len(VAL) :] in METRICS:
                val[k[len(VAL) :]] = v
            elif k.startswith(DATA_PREFIXES):
                summary[k] = v
            elif k == "test_sets" and isinstance(v, dict):
                known[k] = {name: SetEntry.from_json(e) for name, e in v.items() if isinstance(e, dict)}
            elif k in names:
                known[k] = v
            elif k != "_path":
                extra[k] = v
        absent = frozenset(n for n in names if n not in known and n != "experiment")
        return cls(**known, scores=scores, val_scores=val, data=summary, extra=extra,
                   path=Path(path) if path is not None else None, absent=absent)  # fmt: skip

    def __post_init__(self) -> None:
        """An older record's budget (`epochs`, `table_epochs`) and settings (`optimizer`, `table_lr`,
        `batch_size`), from the config it was trained with: the one place that reads them there.
        They are not written back (`absent`)."""
        section = self.config.get("optimizer")
        if self.optimizer is None and isinstance(section, dict):
            object.__setattr__(self, "optimizer", optimizer_name(section))
            object.__setattr__(self, "table_lr", section.get("lr"))
        if self.width_multiplier is None and isinstance(self.config.get("model"), dict):
            object.__setattr__(self, "width_multiplier", self.config["model"].get("width_multiplier"))
        if self.batch_size is None and isinstance(self.config.get("dataset"), dict):
            object.__setattr__(self, "batch_size", self.config["dataset"].get("batch_size"))
        self._old_budget()

    def _old_budget(self) -> None:
        """Records older than initialisation trained the full budget."""
        from types import SimpleNamespace

        from fcn_ablation.config.rows import training_epochs

        table = self.config.get("trainer", {}).get("max_epochs") if self.epochs is None else None
        if table is None:
            return
        init = self.config.get("init")
        if init is None:
            epochs = table
        else:
            start = SimpleNamespace(source=init.get("source", InitSource.scratch.value), epochs=init.get("epochs"))
            epochs = training_epochs(start, table, self.is_baseline)
        object.__setattr__(self, "epochs", epochs)
        object.__setattr__(self, "table_epochs", table)


def optimizer_name(section: dict) -> str:
    """`adamw`, `sgd`, `rmsprop`: the optimiser's class in lower case (records written before the
    section named its class hold the name itself)."""
    return str(section.get("name") or str(section.get("_target_", "?")).rsplit(".", 1)[-1]).lower()
