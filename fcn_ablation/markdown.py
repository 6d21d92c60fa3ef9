"""Markdown tables for the reports: one place that decides how a table reads.

pandas hands NaN to tabulate as a float, which prints "nan"; a reader should see "-" for a cell
that has no value (the matmul row has no MACs, a baseline has no fine-tuned twin).
"""

from __future__ import annotations

import pandas as pd


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g", index: bool = True, numparse: bool = True) -> str:
    """`df` as a GitHub Markdown table, missing values as "-"; `numparse=False` keeps cells that
    are formatted already as written (tabulate would reprint "0.80" as 0.8)."""
    blanked = df.astype(object).where(df.notna(), None)  # None is what tabulate treats as missing
    return blanked.to_markdown(index=index, floatfmt=floatfmt, missingval="-", disable_numparse=not numparse)
