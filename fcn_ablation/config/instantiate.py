"""Sections of the config that name a class to build, by Hydra's convention `_target_`: the
optimiser and the logger (and the trainer, whose class is fixed). Such a section is open: beside
the keys its schema types (`config.schema.OptimizerConfig`, `config.schema.LoggerConfig`) it holds the class's
own keyword arguments, whatever the class, so a new optimiser or logger is a YAML file naming the
class and its arguments. Keys the schema marks `ours` are read by this project, never passed on.

Everything a section can get wrong is found at start-up, each with one line naming the key: a
value of the wrong type (`typed`), a class that cannot be imported or is of the wrong kind
(`target_class`), a key the class does not take, with the closest real name (`check_arguments`).
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fcn_ablation.errors import ConfigError


def typed(section, schema, where: str) -> DictConfig:
    """`section` with the keys `schema` declares converted to their types (strings to enums, as
    their values; integers to floats) and filled with the schema's defaults where absent; the
    class's own arguments as they are. `ConfigError` naming `where.key` for a value that is not
    of its type."""
    data = OmegaConf.to_container(section, resolve=True)
    declared = {f.name for f in dataclasses.fields(schema)}
    try:
        checked = OmegaConf.merge(OmegaConf.structured(schema), {k: v for k, v in data.items() if k in declared})
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "?"
        raise ConfigError(f"{where}.{key}: {str(err).splitlines()[0]}; fix the value") from None
    return OmegaConf.create({**data, **OmegaConf.to_container(checked, enum_to_str=True)})


# Hydra's own keys of an instantiable node. A section copied from a template may hold them
# (`_partial_: true`); `partial` sets what it needs itself, so they are never the class's arguments.
HYDRA_KEYS = frozenset({"_target_", "_partial_", "_convert_", "_recursive_", "_args_"})


def arguments(section, schema) -> dict:
    """What `section` passes to its class: every key but Hydra's own and those the schema marks `ours`."""
    ours = {f.name for f in dataclasses.fields(schema) if f.metadata.get("ours")}
    data = OmegaConf.to_container(section, resolve=True) if isinstance(section, DictConfig) else dict(section)
    return {k: v for k, v in data.items() if k not in ours and k not in HYDRA_KEYS}


def target_class(section, where: str, base: type) -> type:
    """The class `section._target_` names; `ConfigError` unless it imports and is a `base`."""
    from hydra.utils import get_class

    path = section.get("_target_")
    try:
        cls = get_class(str(path))
    except Exception:  # noqa: BLE001 - Hydra wraps import errors of every kind
        raise ConfigError(
            f"{where}._target_: cannot import {path!r}; name a class by its full path, e.g. {_example(base)}"
        ) from None
    if not issubclass(cls, base):
        raise ConfigError(f"{where}._target_: {path} is not a {base.__module__}.{base.__qualname__}")
    return cls


def _example(base: type) -> str:
    return {"Optimizer": "torch.optim.SGD", "Logger": "pytorch_lightning.loggers.CSVLogger"}.get(
        base.__name__, f"{base.__module__}.{base.__qualname__}"
    )


def check_arguments(where: str, cls: type, keys, what: str | None = None) -> None:
    """Every key must be an argument of `cls` (any key, when it takes `**kwargs`); `ConfigError`
    with the closest real name for a key it does not take."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    allowed = set(params) - {"self"}
    for key in keys:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean {where}.{close[0]}?)" if close else ""
            name = what or f"{cls.__module__}.{cls.__qualname__}"
            raise ConfigError(f"{where}.{key}: not an argument of {name}{hint}; fix or remove the override")


def partial(section, schema):
    """The class `section` names with its arguments bound: Hydra's `instantiate` as a partial."""
    from hydra.utils import instantiate

    return instantiate(
        {"_target_": section["_target_"], "_partial_": True, **arguments(section, schema)}, _convert_="all"
    )


def build(section, schema, *args, **runtime):
    """The object `section` describes, given `args` and `runtime` (what only the running job knows)."""
    return partial(section, schema)(*args, **runtime)
