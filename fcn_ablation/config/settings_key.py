"""What a setting is: the settings key that files a record in its table's store.

The key hashes the config minus what may differ between rows of one table (the experiment,
where its weights started, the seed, logging, paths, how the per-job timing pass ran: each marked
on its field in the schema, `config.schema.row_attribute`), plus the hash of the split files: records
that share it were trained with the same settings and tested on the same images. A key, once
tables are filed under it, must not move when the schema is tidied: settings added later are left
out at their neutral value (`config.schema.added_later`), and a section whose form changed is hashed in
its first form where that can express it (`_as_first_written`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing

from omegaconf import OmegaConf

from fcn_ablation.config import instantiate
from fcn_ablation.config.schema import Config, OptimizerConfig


def _drop_non_settings(data: dict, schema) -> None:
    """Remove from `data` (a config as a dict) what the schema marks as no setting
    (`config.schema.row_attribute`) or as a later setting at its neutral value (`config.schema.added_later`)."""
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):
        if f.name not in data:
            continue
        inner = f.metadata.get("schema") or (hints[f.name] if dataclasses.is_dataclass(hints[f.name]) else None)
        if f.metadata.get("setting") is False:
            data.pop(f.name)
            continue
        if inner is not None and isinstance(data[f.name], dict):
            _drop_non_settings(data[f.name], inner)
        # a section added later is left out when nothing of it is left (`neutral={}`)
        if "neutral" in f.metadata and data[f.name] == f.metadata["neutral"]:
            data.pop(f.name)


# The optimiser section before it named its class (`_target_`): `name` was one of these two, and
# both classes' arguments were keys of every section, at these values when not the class's own.
_FIRST_OPTIMIZERS = {"torch.optim.AdamW": "adamw", "torch.optim.SGD": "sgd"}
_FIRST_CLASS_ARGS = {"momentum": 0.9, "betas": [0.9, 0.999]}


def _as_first_written(opt: dict) -> dict:
    """The optimiser section as the settings key hashes it: one the first schema could express
    (AdamW or SGD, with no argument but `momentum` or `betas`) in that schema's form, so that
    tables filed before the switch to `_target_` keep their keys; any other as it is."""
    opt = {k: v for k, v in opt.items() if k == "_target_" or k not in instantiate.HYDRA_KEYS}
    name = _FIRST_OPTIMIZERS.get(opt.get("_target_"))
    ours = {f.name for f in dataclasses.fields(OptimizerConfig)}
    if name is None or not set(opt) <= ours | set(_FIRST_CLASS_ARGS):
        return opt
    opt.pop("_target_")
    return {**_FIRST_CLASS_ARGS, **opt, "name": name}


def settings_key(cfg, split_hash: str) -> str:
    """Short hash of the settings that must agree for two records to share a table (the config
    minus what its schema marks as no setting), and of the split files they were tested on
    (`split_hash`, from the data module's summary). The open optimiser section is hashed typed
    (`lr=1` and `lr=1.0` are one setting, a key left out is its default)."""
    data = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    if "optimizer" in data:
        typed = OmegaConf.to_container(instantiate.typed(cfg.optimizer, OptimizerConfig, "optimizer"))
        data["optimizer"] = _as_first_written(typed)
    _drop_non_settings(data, Config)
    data["split_hash"] = split_hash
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]
