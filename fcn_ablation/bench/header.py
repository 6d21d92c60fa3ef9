"""A benchmark's header (`bench.json`): what was timed, where, and how quiet the machine was.

One type for both benchmarks, so that its two writers (`bench.inference`, `bench.training`) and
its readers (the report, the reuse check, the search) agree on the fields: the common ones first,
then those of the inference benchmark (`speed` ... `widths`) and of the training one (`steps` ...
`loader_workers`), absent (None) in the other kind. A field a newer writer added that this reader
does not know is ignored; one an older writer did not write reads as its default. Torch-free: the
report reads it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from fcn_ablation import results_layout
from fcn_ablation.files import atomic_write_text


@dataclass
class BenchHeader:
    device: str  # in words: the GPU's name, or the CPU model and threads
    device_slug: str  # the same as a folder name
    torch: str
    settings: str  # what was timed, as a folder name (`results_layout.bench_settings`)
    rounds: int
    created: str  # ISO 8601, UTC: the newest of several benchmarks of the same variants wins
    other_load: float | None = None  # other processes' share of the CPU while it ran
    matmul_median_s: float = float("nan")
    matmul_spread: float = float("nan")  # the matmul's slowest round over its fastest
    under_load: bool = False
    # inference benchmark
    speed: str | None = None  # `SpeedConfig.slug`
    height: int | None = None
    width: int | None = None
    batch_size: int | None = None
    widths: dict[str, dict[str, int]] = field(default_factory=dict)  # {variant: {layer: channels}}
    # training benchmark
    steps: int | None = None
    warmup: int | None = None
    matmul_size: int | None = None
    matmul_dtype: str | None = None
    compilations: dict[str, int] | None = None
    loader_workers: int | None = None

    @property
    def setting(self) -> str:
        """The speed setting it ran under, as `config.speeds` names it (headers older than settings: fp32, batch 1)."""
        from fcn_ablation.config.speeds import PAPER, setting_name

        return setting_name(self.speed or PAPER, self.batch_size or 1)

    def same_variants(self, widths: dict[str, dict[str, int]]) -> bool:
        """Whether this benchmark timed every network of `widths` at exactly those widths."""
        return all(self.widths.get(k) == v for k, v in widths.items())

    def write(self, folder: str | Path) -> Path:
        path = Path(folder) / results_layout.BENCH_JSON
        data = {k: v for k, v in dataclasses.asdict(self).items() if v is not None and v != {}}
        atomic_write_text(path, json.dumps(data, indent=2))
        return path

    @classmethod
    def read(cls, folder: str | Path) -> BenchHeader:
        """The header in `folder`; OSError, ValueError or TypeError when there is none or it is not one."""
        data = json.loads((Path(folder) / results_layout.BENCH_JSON).read_text())
        if not isinstance(data, dict):
            raise ValueError(f"{results_layout.BENCH_JSON} holds {type(data).__name__}, not an object")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
