"""Tables to paste into a paper: the variants and other methods as rows, a group of columns per
test set (the SALOD benchmark's layout) after the evaluated networks' size, cost and speed, as
LaTeX (booktabs, resized to the text width by default) and as Markdown.

Every score is the mean over seeds with the half-width of its 95 % interval, as authors print it
(`0.873 ± 0.005`, in LaTeX `0.873{\\scriptsize $\\pm$0.005}`); another method scored from its maps
is one run (no interval). The best value of each column is bold and the second underlined, ranked
on the values as printed (rounded), so two rows that read the same share a mark; a change from
the baseline that the report's tests cannot tell from zero keeps its ≈ mark
(`NOT_SIGNIFICANT`), so a bold number that is not distinguishable from the baseline says so.
#Params, GMACs, ms and FPS are those of the network each row scored (unknown, `-`, for a method
known by its maps only); the caller's caption names their width, input size and device.
"""

from __future__ import annotations

import math

import pandas as pd

from fcn_ablation.evaluation.registry import METRICS, NOT_SIGNIFICANT
from fcn_ablation.reporting.floor import LABEL as FLOOR
from fcn_ablation.store.tested import SAVED_MAPS  # the non-learned last row: shown, never ranked

# The columns of each set's group: name -> (header, lower is better).
COLUMNS = {
    name: (m.label, m.lower_is_better) for name, m in sorted(METRICS.items(), key=lambda nm: nm[1].paste) if m.paste
}
# The columns before the sets' groups, once per row (from the first set's table): the evaluated
# network's size, cost and speed: name -> (header, digits).
COST = {"params_m": ("#Params (M)", 2), "gmacs": ("GMACs", 2), "job_ms_per_image": ("ms", 1), "fps": ("FPS", 0)}


def _rows(tables: dict[str, pd.DataFrame]) -> list[tuple[str, str]]:
    """(experiment, init) of every row of any set's table, in the first table's order, then new ones."""
    out: list[tuple[str, str]] = []
    for df in tables.values():
        for e, i in zip(df.experiment, df.init):
            if (e, i) not in out:
                out.append((e, i))
    return out


def cells(tables: dict[str, pd.DataFrame], columns: dict = COLUMNS, digits: int = 3) -> pd.DataFrame:
    """One row per (experiment, init), per (set, metric): mean, half-width, ≈ and rank (1 best, on
    the mean rounded to `digits`); and its `COST` values."""
    out = []
    for e, i in _rows(tables):
        row = {"experiment": e, "init": i, **_cost(tables, e, i)}
        for name, df in tables.items():
            hit = df[(df.experiment == e) & (df.init == i)]
            for m in columns:
                r = hit.iloc[0] if len(hit) else None
                mean = float(r[m]) if r is not None and m in r and not pd.isna(r[m]) else math.nan
                lo, hi = (r.get(f"{m}_ci_low"), r.get(f"{m}_ci_high")) if r is not None else (math.nan, math.nan)
                half = (hi - lo) / 2 if lo is not None and not pd.isna(lo) else math.nan
                sig = r.get(f"{m}_significant", pd.NA) if r is not None else pd.NA
                approx = r is not None and not bool(r.get("reference", False)) and not pd.isna(sig) and not bool(sig)
                row.update({(name, m, "mean"): mean, (name, m, "half"): half, (name, m, "approx"): approx})
        out.append(row)
    df = pd.DataFrame(out)
    for name in tables:
        for m, (_, lower) in columns.items():
            df[(name, m, "rank")] = df[(name, m, "mean")].round(digits).rank(method="min", ascending=lower)
    return df


def _cost(tables: dict[str, pd.DataFrame], e: str, i: str) -> dict:
    """A row's `COST` values, from the first set's table that has the row (NaN: unknown)."""
    for df in tables.values():
        hit = df[(df.experiment == e) & (df.init == i)]
        if len(hit):
            r = hit.iloc[0]
            out = {c: float(r[c]) if c in r and not pd.isna(r[c]) else math.nan for c in COST if c != "fps"}
            ms = out.get("job_ms_per_image", math.nan)
            return {**out, "fps": 1000 / ms if ms and not pd.isna(ms) else math.nan}
    return {c: math.nan for c in COST}


def _cost_cells(row) -> list[str]:
    return ["-" if pd.isna(row[c]) else f"{row[c]:.{d}f}" for c, (_, d) in COST.items()]


def _number(mean: float, half: float, digits: int, latex: bool) -> str:
    if pd.isna(mean):
        return "-"
    text = f"{mean:.{digits}f}"
    if not pd.isna(half):
        text += f"{{\\scriptsize $\\pm${half:.{digits}f}}}" if latex else f" ± {half:.{digits}f}"
    return text


def _cell(row, name: str, m: str, digits: int, latex: bool) -> str:
    text = _number(row[(name, m, "mean")], row[(name, m, "half")], digits, latex)
    rank = row[(name, m, "rank")]
    if latex:
        text = f"\\textbf{{{text}}}" if rank == 1 else f"\\underline{{{text}}}" if rank == 2 else text
        return text + (" $\\approx$" if row[(name, m, "approx")] else "")
    text = f"**{text}**" if rank == 1 else f"<u>{text}</u>" if rank == 2 else text
    return text + (f" {NOT_SIGNIFICANT}" if row[(name, m, "approx")] else "")


def _label(row, several_inits: bool) -> str:
    shown = several_inits and row["init"] != SAVED_MAPS  # another method: its name alone
    return f"{row.experiment} ({row['init']})" if shown else str(row.experiment)


def _several_inits(c: pd.DataFrame) -> bool:
    return c.loc[c["init"] != SAVED_MAPS, "init"].nunique() > 1


def _floor_values(floor: dict | None, tables, columns: dict, digits: int) -> list[str] | None:
    if not floor:
        return None
    return [
        f"{floor[name][m]:.{digits}f}" if name in floor and m in floor[name] else "-"
        for name in tables
        for m in columns
    ]


def latex(tables: dict[str, pd.DataFrame], caption: str, label: str = "tab:width-ablation", digits: int = 3,
          columns: dict = COLUMNS, floor: dict | None = None, fit: bool = True) -> str:  # fmt: skip
    """A booktabs `table*` (needs `\\usepackage{booktabs}`, and `graphicx` with `fit`): the cost
    columns, then one column group per test set; `floor` ({set: scores}): the centre prior's row
    below a rule; `fit`: resized to the text width (`\\resizebox`), so it fits an article page."""
    c = cells(tables, columns, digits)
    several = _several_inits(c)
    n, k0 = len(columns), 1 + len(COST)
    spec = "l" + "r" * len(COST) + ("c" * n) * len(tables)
    head1 = " & " * len(COST) + " & ".join(f"\\multicolumn{{{n}}}{{c}}{{{_tex(name)}}}" for name in tables)
    rules = " ".join(f"\\cmidrule(lr){{{k0 + 1 + k * n}-{k0 + (k + 1) * n}}}" for k in range(len(tables)))
    arrows = {m: ("$\\downarrow$" if lower else "$\\uparrow$") for m, (_, lower) in columns.items()}
    head2 = " & ".join(
        [_tex(h) for h, _ in COST.values()] + [f"{h} {arrows[m]}" for _ in tables for m, (h, _) in columns.items()]
    )
    tabular = [
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        f"Method {head1} \\\\",
        rules,
        f" & {head2} \\\\",
        "\\midrule",
    ]
    for _, row in c.iterrows():
        values = " & ".join(_cost_cells(row) + [_cell(row, name, m, digits, True) for name in tables for m in columns])
        tabular.append(f"{_tex(_label(row, several))} & {values} \\\\")
    floor_cells = _floor_values(floor, tables, columns, digits)
    if floor_cells:
        tabular += ["\\midrule", f"\\textit{{{FLOOR}}} & {' & '.join(['-'] * len(COST) + floor_cells)} \\\\"]
    tabular += ["\\bottomrule", "\\end{tabular}"]
    if fit:
        tabular = ["\\resizebox{\\textwidth}{!}{%", *tabular, "}"]
    lines = ["\\begin{table*}[t]", "\\centering", f"\\caption{{{_tex(caption)}}}", f"\\label{{{label}}}",
             *tabular, "\\end{table*}"]  # fmt: skip
    return "\n".join(lines) + "\n"


def markdown(
    tables: dict[str, pd.DataFrame], digits: int = 3, columns: dict = COLUMNS, floor: dict | None = None
) -> str:
    """The same table as Markdown: a header row of `set: metric` columns; `floor` as in `latex`."""
    c = cells(tables, columns, digits)
    several = _several_inits(c)
    header = (["method"] + [h for h, _ in COST.values()]
              + [f"{name}: {h}{' ↓' if lower else ''}" for name in tables for h, lower in columns.values()])  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for _, row in c.iterrows():
        values = _cost_cells(row) + [_cell(row, name, m, digits, False) for name in tables for m in columns]
        lines.append("| " + " | ".join([_label(row, several)] + values) + " |")
    floor_cells = _floor_values(floor, tables, columns, digits)
    if floor_cells:
        lines.append("| " + " | ".join([f"*{FLOOR}*"] + ["-"] * len(COST) + floor_cells) + " |")
    return "\n".join(lines) + "\n"


def _tex(text: str) -> str:
    """`text` with LaTeX's special characters escaped (set names hold underscores)."""
    for a, b in (("\\", "\\textbackslash{}"), ("_", "\\_"), ("%", "\\%"), ("&", "\\&"), ("#", "\\#"), ("$", "\\$")):
        text = text.replace(a, b)
    return text.replace("±", "$\\pm$").replace("≈", "$\\approx$")


assert set(COLUMNS) <= set(METRICS)
