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
    """The newest benchmark under the report's folder that timed exactly these widths at `scale`."""
    found = []
    for d in bench_dirs(out_dir):
        if d.name != scale:
            continue
        try:
            b = read_bench(d)
        except Exception as err:  # noqa: BLE001 - not JSON, not CSV, cut short: a benchmark no table can use
            warn_once(
                f"left out: {d}: not a readable benchmark ({type(err).__name__}: {err}); move it out of {out_dir}", log
            )
            continue
        if b.header.same_variants(widths):
            found.append((b.header.created, b))
    return max(found, key=lambda x: x[0])[1] if found else None
