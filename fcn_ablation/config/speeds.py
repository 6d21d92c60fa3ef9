"""Speed settings: the named ways a timed forward pass runs, a `SpeedConfig` and a batch, written
as its folder names write them (`fp32`, `fp32-tf32`, `bf16-graphs`, `bf16-b16`).

Table 3's "detection time" depends on them by up to 3x on a GPU (at batch 1 a fast GPU can wait on
kernel launches, not arithmetic), so a benchmark times a list of them and the report shows every
variant's time ratio under each. The first, `fp32` at batch 1, eager, is the paper's own setting
(Caffe on a GTX 1080 Ti, one image at a time): the one the tables' time columns speak of.
Torch-free and schema-free at import: the report reads these names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fcn_ablation.errors import ConfigError

if TYPE_CHECKING:
    from fcn_ablation.config.schema import SpeedConfig

PAPER = "fp32"  # batch 1, fp32, eager
# What a benchmark times where its list is left empty: on a GPU, the paper's setting and the four
# that change a GPU's answer most (TF32, bf16, bf16 replayed from CUDA graphs, bf16 at a batch of
# 16); on a CPU only the paper's (the others need CUDA, or take many times as long there).
DEFAULTS = {"cuda": [PAPER, "fp32-tf32", "bf16", "bf16-graphs", "bf16-b16"], "cpu": [PAPER]}
DEVICE_DEFAULTS = "defaults"  # in a list of settings: the device's DEFAULTS
_BATCH = re.compile(r"^(?P<speed>.+)-b(?P<batch>\d+)$")


@dataclass(frozen=True)
class SpeedSetting:
    opts: SpeedConfig
    batch_size: int = 1

    @property
    def name(self) -> str:
        return setting_name(self.opts.slug(), self.batch_size)

    @property
    def is_paper(self) -> bool:
        return self.name == PAPER


def setting_name(speed: str, batch_size: int) -> str:
    """A setting's name from its options' slug and batch: `bf16-graphs-b16`; a batch of one is left unsaid."""
    return speed + (f"-b{batch_size}" if batch_size != 1 else "")


def parse_setting(text: str) -> SpeedSetting:
    """The setting a name names: a `SpeedConfig.slug`, then `-b<N>` for a batch other than one."""
    from fcn_ablation.config.schema import SpeedConfig

    m = _BATCH.match(str(text))
    speed, batch = (m["speed"], int(m["batch"])) if m else (str(text), 1)
    if batch < 1:
        raise ConfigError(f"speed setting {text!r}: a batch of at least 1 (-b1, -b16)")
    return SpeedSetting(SpeedConfig.parse(speed), batch)


def why_not_on(opts: SpeedConfig, device_type: str) -> str | None:
    """Why `opts` cannot run on a device of `device_type` (`cuda`, `cpu`, `mps`), or None."""
    if device_type == "cuda":
        return None
    fp16 = getattr(opts.precision, "value", opts.precision) == "fp16"
    needs = [n for n, on in (("precision=fp16", fp16), ("tf32", opts.tf32),
                             ("cuda_graphs", opts.cuda_graphs)) if on]  # fmt: skip
    if needs:
        return f"{', '.join(needs)} need{'s' if len(needs) == 1 else ''} a CUDA device, this is {device_type}"
    return None


def settings_for(names: list[str] | tuple[str, ...], device_type: str, where: str = "speeds") -> list[SpeedSetting]:
    """The settings `names` name, in order, each checked to run on `device_type`; `defaults` among
    them stands for the device's `DEFAULTS`. A setting named twice is timed once."""
    device_defaults = DEFAULTS.get(device_type, DEFAULTS["cpu"])
    chosen = [n for name in names for n in (device_defaults if str(name) == DEVICE_DEFAULTS else [name])]
    out: dict[str, SpeedSetting] = {}
    for name in chosen:
        setting = parse_setting(name)
        why = why_not_on(setting.opts, device_type)
        if why:
            raise ConfigError(f"{where}: {name!r}: {why}; leave it out there (on this device: {', '.join(DEFAULTS['cpu'])}, "
                              "bf16, fp32-cl, ...)")  # fmt: skip
        out.setdefault(setting.name, setting)
    return list(out.values())


def setting_folder(scale: str, setting: SpeedSetting) -> str:
    """A report's benchmark folder of `setting` at `scale` (`w1-400x300`): the scale alone for the
    paper's setting (the folder the table's time columns read), `w1-400x300-bf16-graphs` otherwise."""
    return scale if setting.is_paper else f"{scale}-{setting.name}"
