"""The experiment files (`conf/experiment/*.yaml`: Table 2's rows and a user's own), read in one place.

Hydra composes one of them into each job's config. The benchmark, the width search and a variant's
baseline need them outside a composition: `load` reads one through the schema (`ExperimentConfig`),
so a wrong key or type there is the same one-line error as in a job.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fcn_ablation.config import rows
from fcn_ablation.config.folder import config_dir
from fcn_ablation.config.rows import row_order
from fcn_ablation.config.schema import ExperimentConfig
from fcn_ablation.errors import ConfigError
from fcn_ablation.models.widths import build_widths, changed_layers, layer_factors

# The paper's Table 2 rows, in its order (their files are `a.yaml` ... `h.yaml`).
TABLE2: tuple[str, ...] = tuple("abcdefgh")


def folder() -> Path:
    return Path(config_dir()) / "experiment"


def names() -> list[str]:
    """Every experiment file's name, in `row_order`."""
    return sorted((p.stem for p in folder().glob("*.yaml")), key=row_order)


def load(name: str):
    """`conf/experiment/<name>.yaml` merged onto the schema (`ExperimentConfig`, `name` set)."""
    path = folder() / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"experiment {name!r}: no {path}; available: {', '.join(names())}")
    try:
        return OmegaConf.merge(OmegaConf.structured(ExperimentConfig(name=name)), OmegaConf.load(path))
    except OmegaConfBaseException as err:
        raise ConfigError(f"{path}: {str(err).splitlines()[0]}; fix the file") from None


def factors(experiment) -> dict[str, float]:
    """Per-layer width factors of a loaded (or composed) experiment section."""
    return layer_factors(experiment.halve, experiment.factors, experiment=experiment.name)


def is_baseline(experiment) -> bool:
    """Whether an experiment section cuts nothing (the baseline, or any whose factors are all 1):
    the one test of "is this the baseline?" for configs; a record's is `Record.is_baseline`."""
    return rows.is_baseline(changed_layers(factors(experiment)))


def widths(name: str, multiplier: float) -> dict[str, int]:
    """Output channels of every thinnable layer of experiment `name` at `multiplier`."""
    return build_widths(factors(load(name)), multiplier)
