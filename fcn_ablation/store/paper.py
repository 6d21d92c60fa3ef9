"""The paper's own Tables 3 and 4 (transcribed in `paper_tables/`, linked as `results/paper/`), for the columns beside ours."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

PAPER_TABLES = {"msra10k": "table3_msra10k.csv", "dut_omron": "table4_dut_omron.csv"}


def paper_dir() -> Path:
    """The transcriptions, in the package (`results/paper` of the repository links to them)."""
    return Path(__file__).resolve().parent / "paper_tables"


def paper_table(dataset: str) -> tuple[pd.DataFrame, str]:
    """The paper's table for `dataset` (Table 3, MSRA10K, for data sets the paper did not use)."""
    name = PAPER_TABLES.get(dataset, PAPER_TABLES["msra10k"])
    path = paper_dir() / name
    if not path.is_file():
        return pd.DataFrame(columns=["experiment", "time_vs_base_pct", "f_vs_base_pct", "f_score"]), name
    return pd.read_csv(path), name


def paper_time_ratios(dataset: str = "msra10k") -> dict[str, float]:
    """{experiment: the paper's detection time over its baseline's} (Table 3 for MSRA10K)."""
    df, _ = paper_table(dataset)
    return {r.experiment: 1 + (0 if pd.isna(r.time_vs_base_pct) else r.time_vs_base_pct / 100) for r in df.itertuples()}
