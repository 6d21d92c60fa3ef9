"""The benchmark files a report reads (`bench.json` under its `bench/` folder): found, read, and
the one of exactly the table's variants at a scale picked."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from fcn_ablation import results_layout
from fcn_ablation.errors import warn_once

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- benchmark files
def bench_dirs(out_dir: Path) -> list[Path]:
    return sorted(p.parent for p in results_layout.bench_root(out_dir).glob("*/*/bench.json"))


def read_bench(path: Path) -> dict:
    header = json.loads((Path(path) / "bench.json").read_text())
    return {
        "header": header,
        "table": pd.read_csv(Path(path) / "bench.csv"),
        "raw": pd.read_csv(Path(path) / "raw.csv"),
        "path": Path(path),
    }


def matching_bench(out_dir: Path, widths: dict, scale: str) -> dict | None:
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
        timed = b["header"].get("widths", {})
        if all(timed.get(k) == v for k, v in widths.items()):
            found.append((b["header"].get("created", ""), b))
    return max(found, key=lambda x: x[0])[1] if found else None
