"""Markdown tables for the reports: one place that decides how a table reads.

pandas hands NaN to tabulate as a float, which prints "nan"; a reader should see "-" for a cell
that has no value (the matmul row has no MACs, a baseline has no fine-tuned twin).
"""

from __future__ import annotations

import pandas as pd


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g", index: bool = True) -> str:
    """`df` as a GitHub Markdown table, missing values as "-"."""
    blanked = df.astype(object).where(df.notna(), None)  # None is what tabulate treats as missing
    return blanked.to_markdown(index=index, floatfmt=floatfmt, missingval="-")


def load_note(header: dict) -> str:
    """One line on how quiet the machine was while a benchmark ran, from its header (`bench.json`)."""
    other = header.get("other_load")
    other_s = "unknown" if other is None else f"{100 * other:.0f} % of the CPU"
    text = f"other processes took {other_s} during the benchmark; the matmul's slowest round took {header.get('matmul_spread', float('nan')):.2f}x its fastest"
    if header.get("under_load"):
        return f"**Benchmark taken under load** ({text}): absolute times are inflated; the per-round ratios are more robust, but rerun it on a quiet machine."
    return f"Quiet machine ({text})."
