"""Table 3 under every speed setting: each variant's detection time over the baseline's, with its
interval, for each way of running the forward pass that was benchmarked (`config.speeds`), the
paper's ratio beside.

On a fast GPU at batch 1 the answer depends on the setting by up to 3x: in fp32 a variant with a
quarter of the MACs takes about a third of the baseline's time, in bf16 all of it, because the GPU
then waits on kernel launches, not arithmetic. So every setting gets a line saying how much of the
MACs a variant saves turns into time (`time saved / MACs saved` of the thinnest variant) and whether
it is bound by launches (that variant within `LAUNCH_TOLERANCE` of the baseline's time although it
has at most `THIN` of its MACs). Torch-free: reads benchmark folders (`bench_files.Benchmark`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fcn_ablation import results_layout
from fcn_ablation.bench.load import load_note
from fcn_ablation.config.rows import BASELINE
from fcn_ablation.config.speeds import DEFAULTS, PAPER
from fcn_ablation.evaluation.registry import NOT_SIGNIFICANT
from fcn_ablation.files import atomic_write_text, pyplot, save_figure, write_csv
from fcn_ablation.markdown import markdown_table
from fcn_ablation.reporting.bench_files import Benchmark

THIN = 0.5  # a variant "thin" enough to tell arithmetic from launches: at most half the MACs
LAUNCH_TOLERANCE = 0.05  # ... whose time is then within 5 % of the baseline's: bound by launches
ARITHMETIC = 0.75  # ... or that saves at least 3/4 of its MACs saving as time: bound by arithmetic
MATMUL = "matmul"


def ordered(names) -> list[str]:
    """Settings in a reader's order: the paper's first, then the GPU defaults', then the rest by name."""
    order = {n: i for i, n in enumerate(DEFAULTS["cuda"])}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


def in_order(benches: list[Benchmark]) -> list[Benchmark]:
    """`benches` with their settings in `ordered` order."""
    order = ordered({b.header.setting for b in benches})
    return sorted(benches, key=lambda b: order.index(b.header.setting))


def speed_table(benches: list[Benchmark]) -> pd.DataFrame:
    """One row per (setting, variant) of benchmarks of the same variants on one device: ms/image,
    the time ratio to the baseline with its bootstrap 95 % interval (per-round ratios, as the
    benchmark took them), the MACs ratio and the paper's time ratio."""
    rows = []
    for b in benches:
        t = b.table[b.table.variant != MATMUL]
        for r in t.itertuples():
            rows.append({"setting": b.header.setting, "variant": r.variant, "ms_per_image": r.ms_per_image,
                         "time_ratio": getattr(r, "time_ratio", float("nan")),
                         "time_ratio_ci_low": getattr(r, "time_ratio_ci_low", float("nan")),
                         "time_ratio_ci_high": getattr(r, "time_ratio_ci_high", float("nan")),
                         "macs_ratio": getattr(r, "macs_ratio", float("nan")),
                         "paper_time_ratio": getattr(r, "paper_time_ratio", float("nan")),
                         "device": b.header.device, "rounds": b.header.rounds, "under_load": b.header.under_load,
                         "bench": b.path.name})  # fmt: skip
    return pd.DataFrame(rows)


def bound_by(t: pd.DataFrame) -> pd.DataFrame:
    """Per setting: its thinnest variant, the share of that variant's MACs saving that its time
    saves, and whether the setting is bound by launches rather than arithmetic."""
    out = []
    for setting, g in t.groupby("setting", sort=False):
        g = g[g.variant != BASELINE].dropna(subset=["macs_ratio", "time_ratio"])
        if g.empty:
            continue
        thin = g.loc[g.macs_ratio.idxmin()]
        saved = (1 - thin.time_ratio) / (1 - thin.macs_ratio) if thin.macs_ratio < 1 else float("nan")
        launch = bool(thin.macs_ratio <= THIN and thin.time_ratio >= 1 - LAUNCH_TOLERANCE)
        out.append({"setting": setting, "thinnest": thin.variant, "thinnest_macs_ratio": thin.macs_ratio,
                    "thinnest_time_ratio": thin.time_ratio, "time_saved_over_macs_saved": saved,
                    "launch_bound": launch})  # fmt: skip
    return pd.DataFrame(out)


def _bound_word(b) -> str:
    """What a setting's time is bound by, from its `bound_by` row."""
    if b.launch_bound:
        return "**launches**"
    if b.thinnest_macs_ratio <= THIN and b.time_saved_over_macs_saved >= ARITHMETIC:
        return "arithmetic"
    return "partly arithmetic"


def _ms(ms: float) -> str:
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.3g} ms"


def _holds_one(r) -> bool:
    """Whether a ratio's interval holds 1: not told from the baseline."""
    return r.time_ratio_ci_low <= 1 <= r.time_ratio_ci_high


def _cell(variant: str, r) -> str:
    if variant == BASELINE:
        return _ms(r.ms_per_image)
    if pd.isna(r.time_ratio):
        return "-"
    return f"{r.time_ratio:.2f} [{r.time_ratio_ci_low:.2f}, {r.time_ratio_ci_high:.2f}]" + (
        f" {NOT_SIGNIFICANT}" if _holds_one(r) else ""
    )


def markdown(t: pd.DataFrame, benches: list[Benchmark], title: str, level: int = 1) -> str:
    """The table in words: variants as rows, settings as columns, the paper's ratio beside."""
    settings = list(dict.fromkeys(t.setting))
    variants = list(dict.fromkeys(t.variant))
    first = t.drop_duplicates("variant").set_index("variant")
    wide = pd.DataFrame({"variant": variants,
                         "MACs ratio": [f"{first.loc[v, 'macs_ratio']:.3f}" for v in variants],
                         "paper (GTX 1080 Ti)": ["1" if v == BASELINE else ("-" if pd.isna(first.loc[v, "paper_time_ratio"])
                                                 else f"{first.loc[v, 'paper_time_ratio']:.2f}") for v in variants]})  # fmt: skip
    for s in settings:
        g = t[t.setting == s].set_index("variant")
        wide[s] = [_cell(v, g.loc[v]) if v in g.index else "-" for v in variants]
    bound = bound_by(t).set_index("setting")
    saved = {
        "variant": f"time saved / MACs saved ({bound.thinnest.iloc[0] if len(bound) else '-'})",
        "MACs ratio": "",
        "paper (GTX 1080 Ti)": "",
    }
    launch = {"variant": "bound by", "MACs ratio": "", "paper (GTX 1080 Ti)": ""}
    for s in settings:
        saved[s] = f"{bound.loc[s, 'time_saved_over_macs_saved']:.2f}" if s in bound.index else "-"
        launch[s] = _bound_word(bound.loc[s]) if s in bound.index else "-"
    wide = pd.concat([wide, pd.DataFrame([saved, launch])], ignore_index=True)
    b0 = benches[0].header
    launched = [s for s in settings if s in bound.index and bound.loc[s, "launch_bound"]]
    paper_note = (f"- **Detection time** in this project's tables (the report's `ms` and `time vs base`) is `{PAPER}`: batch 1, fp32, "
                  "eager, the paper's own setting (Caffe on a GTX 1080 Ti, one image at a time), so its ratios are the ones "
                  "to set beside the paper's; the other columns say how much the answer depends on how the network is run."
                  + ("" if PAPER in settings else f" `{PAPER}` was not timed here."))  # fmt: skip
    lines = [
        f"{'#' * level} {title}",
        "",
        f"{b0.device}, torch {b0.torch}, input {b0.width}x{b0.height}, {b0.rounds} interleaved rounds per setting; one "
        "column per speed setting (`precision[-tf32][-cl][-compile][-cudnn][-graphs][-b<batch>]`, batch 1 unless named).",
        "",
        markdown_table(wide, index=False, numparse=False),
        "",
        "- A cell: the variant's detection time over the baseline's, the median of the ratios taken round by round (same "
        f"conditions), with the bootstrap 95 % interval of that median; {NOT_SIGNIFICANT}: the interval holds 1 (not told "
        "from the baseline). The baseline's row: its median ms per image in that setting.",
        paper_note,
        f"- time saved / MACs saved: for the thinnest variant, (1 - time ratio) / (1 - MACs ratio); 1 when time follows the "
        f"arithmetic, 0 when thinning saves no time. **Bound by launches**: that variant, with at most {THIN:g} of the "
        f"baseline's MACs, runs within {LAUNCH_TOLERANCE:.0%} of the baseline's time: the device waits on kernel launches "
        "and framework overhead, not arithmetic"
        + (f" (here: {', '.join(launched)})" if launched else " (none here)")
        + f"; **arithmetic**: that variant saves at least {ARITHMETIC:g} of its MACs saving as time; partly: in between.",
        "- paper: GTX 1080 Ti, Caffe, MSRA10K (results/paper/table3_msra10k.csv), batch 1.",
        *[f"- `{b.header.setting}`: {load_note(b.header)}" for b in benches],
    ]
    return "\n".join(lines) + "\n"


def latex(t: pd.DataFrame, caption: str, label: str = "tab:time-by-setting") -> str:
    """The table to paste (booktabs, needs `graphicx` for the resize): variants as rows, the MACs and
    the paper's ratio, then a column per setting with the ratio and its interval; the baseline's row
    its ms per image; then the settings' time saved over MACs saved and what bounds them."""
    from fcn_ablation.reporting.paste import _tex

    settings, variants = list(dict.fromkeys(t.setting)), list(dict.fromkeys(t.variant))
    first = t.drop_duplicates("variant").set_index("variant")
    bound = bound_by(t).set_index("setting")

    def cell(v: str, s: str) -> str:
        g = t[(t.setting == s) & (t.variant == v)]
        if g.empty:
            return "-"
        r = g.iloc[0]
        if v == BASELINE:
            return _ms(r.ms_per_image)
        if pd.isna(r.time_ratio):
            return "-"
        mark = " $\\approx$" if _holds_one(r) else ""
        return f"{r.time_ratio:.2f}{{\\scriptsize [{r.time_ratio_ci_low:.2f}, {r.time_ratio_ci_high:.2f}]}}{mark}"

    def paper(v: str) -> str:
        value = first.loc[v, "paper_time_ratio"]
        return "1" if v == BASELINE else ("-" if pd.isna(value) else f"{value:.2f}")

    rows = [" & ".join([_tex(v), f"{first.loc[v, 'macs_ratio']:.3f}", paper(v)] + [cell(v, s) for s in settings]) + " \\\\"
            for v in variants]  # fmt: skip
    saved = [f"{bound.loc[s, 'time_saved_over_macs_saved']:.2f}" if s in bound.index else "-" for s in settings]
    bounds = [_bound_word(bound.loc[s]).replace("**", "") if s in bound.index else "-" for s in settings]
    tabular = ["\\begin{tabular}{lrr" + "c" * len(settings) + "}", "\\toprule",
               "Variant & MACs & Paper & " + " & ".join(f"\\texttt{{{_tex(s)}}}" for s in settings) + " \\\\", "\\midrule",
               *rows, "\\midrule",
               "\\multicolumn{3}{l}{time saved / MACs saved} & " + " & ".join(saved) + " \\\\",
               "\\multicolumn{3}{l}{bound by} & " + " & ".join(bounds) + " \\\\",
               "\\bottomrule", "\\end{tabular}"]  # fmt: skip
    lines = ["\\begin{table*}[t]", "\\centering", f"\\caption{{{_tex(caption)}}}", f"\\label{{{label}}}",
             "\\resizebox{\\textwidth}{!}{%", *tabular, "}", "\\end{table*}"]  # fmt: skip
    return "\n".join(lines) + "\n"


def caption(benches: list[Benchmark]) -> str:
    """The LaTeX table's caption in words: what a cell holds and where it was measured."""
    h = benches[0].header
    return (f"Detection time of each variant over the unthinned baseline's under {len(benches)} speed settings "
            f"(median of per-round ratios over {h.rounds} interleaved rounds, with its bootstrap 95 % interval; "
            f"≈: not told from the baseline), {h.device}, input {h.width}x{h.height}; the baseline's row gives its "
            "ms per image. MACs: the variant's multiply-adds over the baseline's. Paper: the ratio the paper reports "
            "(GTX 1080 Ti, Caffe, batch 1, fp32).")  # fmt: skip


def plot(t: pd.DataFrame, path: Path, device: str) -> None:
    """Time ratio against MACs ratio, one series per setting, with the paper's beside."""
    plt = pyplot()
    rows = t[t.variant != BASELINE].dropna(subset=["macs_ratio"])
    if rows.empty:
        return
    fig, ax = plt.subplots(figsize=(6.8, 5.4))
    ax.plot([0, 1.05], [0, 1.05], color="grey", lw=0.8, ls="--", label="time proportional to MACs")
    markers = "osD^v<>ph*"
    groups = list(rows.groupby("setting", sort=False))
    for i, (setting, g) in enumerate(groups):
        nudge = 0.008 * (i - (len(groups) - 1) / 2)  # settings side by side at each variant's MACs
        ax.errorbar(g.macs_ratio + nudge, g.time_ratio, yerr=[g.time_ratio - g.time_ratio_ci_low, g.time_ratio_ci_high - g.time_ratio],
                    fmt=markers[i % len(markers)], ms=5, capsize=2, label=setting)  # fmt: skip
    paper = rows.drop_duplicates("variant")
    ax.scatter(paper.macs_ratio, paper.paper_time_ratio, marker="x", color="black", label="paper (GTX 1080 Ti)")
    ax.set_xlabel("MACs ratio to the baseline")
    ax.set_ylabel("detection time ratio to the baseline")
    ax.set_title(f"Time against arithmetic per speed setting\n{device}", fontsize=10)
    ax.set_xlim(0, 1.08)
    ax.set_ylim(0, max(1.15, float(rows.time_ratio_ci_high.max()) + 0.05))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def write(benches: list[Benchmark], folder: Path, name: str, title: str) -> pd.DataFrame:
    """`speeds-<name>.csv|.md|.tex|.png` in `folder` from benchmarks of the same variants on one device
    (settings in `ordered` order); returns the table (`speed_table`)."""
    benches = in_order(benches)
    t = speed_table(benches)
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(t.merge(bound_by(t), on="setting", how="left"), results_layout.speeds_file(folder, name, ".csv"))
    md = results_layout.speeds_file(folder, name, ".md")
    atomic_write_text(md, markdown(t, benches, title))
    atomic_write_text(results_layout.speeds_file(folder, name, ".tex"), latex(t, caption(benches)))
    plot(t, results_layout.speeds_file(folder, name, ".png"), benches[0].header.device)
    return t
