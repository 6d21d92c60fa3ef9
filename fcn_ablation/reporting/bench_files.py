"""The benchmark files a report reads (under its `bench/` folder): found, read, and the one of
exactly the table's variants at a scale picked."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fcn_ablation import results_layout
from fcn_ablation.bench.header import BenchHeader
from fcn_ablation.errors import warn_once

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- benchmark files
@dataclass
class Benchmark:
    """One benchmark folder as read: its header, its summary (`bench.csv`) and every round (`raw.csv`)."""

    header: BenchHeader
    table: pd.DataFrame
    raw: pd.DataFrame
    path: Path


def bench_dirs(out_dir: Path) -> list[Path]:
    return sorted(p.parent for p in results_layout.bench_root(out_dir).glob(f"*/*/{results_layout.BENCH_JSON}"))


def read_bench(path: Path) -> Benchmark:
    path = Path(path)
    return Benchmark(BenchHeader.read(path), pd.read_csv(path / results_layout.BENCH_CSV),
                     pd.read_csv(path / results_layout.RAW_CSV), path)  # fmt: skip


def matching_bench(out_dir: Path, widths: dict, scale: str) -> Benchmark | None:
    """The newest benchmark under the report's folder that timed exactly these widths at `scale`
    in the paper's speed setting (its folder is the scale's own: `config.speeds.setting_folder`)."""
    found = [(b.header.created, b) for b in _readable(out_dir, widths, lambda name: name == scale)]
    return max(found, key=lambda x: x[0])[1] if found else None


def speed_benches(out_dir: Path, widths: dict, scale: str) -> dict[str, list[Benchmark]]:
    """{device folder: the newest benchmark of each speed setting} of exactly these widths at
    `scale` (`<scale>` and `<scale>-<setting>` folders), for Table 3 under every setting."""
    newest: dict[tuple[str, str], Benchmark] = {}
    for b in _readable(out_dir, widths, lambda name: name == scale or name.startswith(f"{scale}-")):
        key = (b.path.parent.name, b.header.setting)
        if key not in newest or b.header.created > newest[key].header.created:
            newest[key] = b
    out: dict[str, list[Benchmark]] = {}
    for (device, _), b in sorted(newest.items()):
        out.setdefault(device, []).append(b)
    return out


def _readable(out_dir: Path, widths: dict, wanted) -> list[Benchmark]:
    """The benchmarks under the report's folder whose folder name is `wanted` and that timed
    exactly `widths`; an unreadable one is left out with a warning."""
    found = []
    for d in bench_dirs(out_dir):
        if not wanted(d.name):
            continue
        try:
            b = read_bench(d)
        except Exception as err:  # noqa: BLE001 - not JSON, not CSV, cut short: a benchmark no table can use
            warn_once(
                f"left out: {d}: not a readable benchmark ({type(err).__name__}: {err}); move it out of {out_dir}", log
            )
            continue
        if b.header.same_variants(widths):
            found.append(b)
    return found
