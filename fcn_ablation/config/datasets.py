"""The data set files (`conf/dataset/*.yaml`), read outside a composition: the sets a job is tested
on besides the one it trains on (`test_on`), and the set `fcn-ablation-evaluate` scores on.

Hydra composes one data set into each job's `dataset` section; the others a job is tested on are
read here, through the same schema (`DatasetConfig`), so a wrong key is the same one-line error.
A file's `defaults` list (a set built on another: `synthetic_native` on `synthetic`) is followed.
A test set is seen by the network in the training set's input space: its normalisation (mean, std,
channel order) is the training set's (`section_of_test_set`).
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fcn_ablation.config.folder import config_dir
from fcn_ablation.config.schema import DatasetConfig
from fcn_ablation.errors import ConfigError

# what a test set takes from the set the network trained on: its normalisation and the size it is tested at
INPUT_SPACE = ("mean", "std", "channel_order", "eval_size")


def folder() -> Path:
    return Path(config_dir()) / "dataset"


def names() -> list[str]:
    return sorted(p.stem for p in folder().glob("*.yaml"))


def _file(name: str, seen: tuple[str, ...] = ()):
    path = folder() / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"data set {name!r}: no {path}; available: {', '.join(names())}")
    if name in seen:
        raise ConfigError(f"{path}: its defaults list comes back to itself ({' -> '.join(seen + (name,))})")
    node = OmegaConf.load(path)
    defaults = list(node.pop("defaults", []) or [])
    if "_self_" not in defaults:  # Hydra's rule: the file itself comes last unless placed
        defaults.append("_self_")
    parts = []
    for entry in defaults:
        if entry == "_self_":
            parts.append(node)
        elif isinstance(entry, str):
            parts.append(_file(entry, seen + (name,)))
        else:
            raise ConfigError(f"{path}: defaults entry {entry!r}: only names of other data set files are followed")
    return OmegaConf.merge(*parts)


def load(name: str, overrides: dict | None = None):
    """`conf/dataset/<name>.yaml` on the schema (`DatasetConfig`), with `overrides` (a dict of its
    keys: `{"root": "/data/ECSSD"}`) merged on top; interpolations resolved."""
    try:
        section = OmegaConf.merge(OmegaConf.structured(DatasetConfig), _file(name), overrides or {})
        OmegaConf.resolve(section)
        return section
    except OmegaConfBaseException as err:
        where = f"test_data.{name}" if overrides else str(folder() / f"{name}.yaml")
        raise ConfigError(f"{where}: {str(err).splitlines()[0]}; fix it") from None


def section_of_test_set(train_dataset, name: str, overrides: dict | None = None):
    """The `dataset` section a network trained on `train_dataset` is tested on for set `name`: the
    training section itself when `name` is its own (its own test split), else that set's file with
    `overrides`, in the training set's input space (`INPUT_SPACE`). Another set is scored whole, as
    papers score the benchmark sets (DUT-OMRON's 5,168 images, not its own 10 % test split), unless
    `overrides` name its `split`."""
    if name == train_dataset.name:
        return train_dataset
    section = load(name, overrides)
    if "split" not in (overrides or {}):
        section.split.train, section.split.val, section.split.test = 0.0, 0.0, 1.0
    for key in INPUT_SPACE:
        section[key] = train_dataset[key]
    return section


def sets_tested_on(test_on, train_name: str) -> list[str]:
    """The names a job tests on: `test_on` in order, without repeats; empty: its own set."""
    return list(dict.fromkeys(str(n) for n in test_on)) or [train_name]
