"""The curves salient-object papers draw beside their tables, for one test set: the PR curve, and
F-measure and E-measure over the binarisation threshold, one line per row of the table.

Each record keeps its test's mean curves (`curve/precision`, `curve/recall`, `curve/f`, `curve/e`
in its `.npz`, over the 256 thresholds 255/255 down to 0/255, PySODMetrics' order; equal to its
`Fmeasure` and `Emeasure` curve outputs). A row's line is the mean over its seeds, with the 95 %
t-interval of the seeds around it as a band; the baseline is drawn black and thicker.

Written beside the figure, so that anyone can redraw it:
- `curves.csv`: per row and threshold, each curve's mean over seeds and its interval
  (`experiment, init, n, threshold, precision, precision_low, precision_high, recall, ..., e_high`);
- `curves_by_seed.csv`: every record's own curves (`experiment, init, seed, threshold, precision,
  recall, f, e`). `threshold` is the normalised map's binarisation threshold in [0, 1].
Records written before the mean curves were kept give F and E from their per-image curves (the
same means) and no PR curve (empty cells).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from fcn_ablation import results_layout
from fcn_ablation.config.rows import BASELINE, row_order
from fcn_ablation.errors import UserError, warn_once
from fcn_ablation.evaluation import stats
from fcn_ablation.files import pyplot, save_figure, write_csv
from fcn_ablation.store import filing
from fcn_ablation.store.record import Record

log = logging.getLogger(__name__)

NAMES = ("precision", "recall", "f", "e")
THRESHOLDS = np.arange(255, -1, -1) / 255  # the curves' order: 255/255 first


def by_seed(recs: list[Record]) -> pd.DataFrame:
    """Every record's curves, long: experiment, init, seed, threshold and one column per curve
    (records without curves, written before they were kept, are left out)."""
    from fcn_ablation.store.filing import row_label

    frames = []
    for r in sorted(recs, key=lambda r: r.created):  # oldest first: the newest record per seed is kept last
        try:
            arrays = filing.read_arrays(r.path, r.arrays_prefix) if r.path else None
        except UserError as err:
            warn_once(f"left out of the curves: {err}", log, about=str(err))
            continue
        curves = _curves(arrays or {})
        if not curves:
            continue
        frames.append(pd.DataFrame({"experiment": r.experiment, "init": row_label(r), "seed": r.the_seed,
                                    "threshold": THRESHOLDS, **curves}))  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=["experiment", "init", "seed", "threshold", *NAMES])
    df = pd.concat(frames, ignore_index=True)
    # the newest record per seed is the table's (`report.rows_by_seed`)
    return df.drop_duplicates(["experiment", "init", "seed", "threshold"], keep="last")


def _curves(arrays: dict) -> dict[str, np.ndarray]:
    """A record's mean curves: as kept (`curve/<name>`), or, in records written before they were,
    F and E as the mean of the per-image curves they do keep (precision and recall NaN: not kept)."""
    if all(f"curve/{n}" in arrays for n in NAMES):
        return {n: arrays[f"curve/{n}"] for n in NAMES}
    if "f_curve" not in arrays or "e_curve" not in arrays or not len(arrays["f_curve"]):
        return {}
    nan = np.full(len(THRESHOLDS), np.nan)
    return {"precision": nan, "recall": nan, "f": arrays["f_curve"].astype(np.float64).mean(0),
            "e": arrays["e_curve"].astype(np.float64).mean(0)}  # fmt: skip


def summary(seeds: pd.DataFrame) -> pd.DataFrame:
    """Per row and threshold: each curve's mean over seeds with its 95 % t-interval."""
    out = []
    for (e, i, t), g in seeds.groupby(["experiment", "init", "threshold"], sort=False):
        row = {"experiment": e, "init": i, "n": len(g), "threshold": t}
        for n in NAMES:
            ci = stats.t_interval(g[n].tolist())
            row.update({n: ci.mean, f"{n}_low": ci.low, f"{n}_high": ci.high})
        out.append(row)
    df = pd.DataFrame(out)
    if len(df):
        df["_order"] = df.experiment.map(row_order)
        df = df.sort_values(["_order", "init", "threshold"], ascending=[True, True, False]).drop(columns="_order")
    return df.reset_index(drop=True)


def write_curves(recs: list[Record], out_dir: Path, title: str, rows: list[str] | None = None,
                 emphasise: tuple[str, ...] = ()) -> pd.DataFrame | None:  # fmt: skip
    """`curves.csv`, `curves_by_seed.csv`, `curves.png` and `curves.pdf` of one test set's records
    into `out_dir`; the summary, or None when no record kept curves. `rows`: the experiments (or
    methods) drawn, every one when None (the CSV files hold every row); `emphasise`: rows drawn
    thicker, as the baseline is."""
    seeds = by_seed(recs)
    if not len(seeds):
        return None
    df = summary(seeds)
    write_csv(seeds, Path(out_dir) / results_layout.CURVES_BY_SEED_CSV)
    write_csv(df, Path(out_dir) / results_layout.CURVES_CSV)
    drawn = df[df.experiment.isin(rows)] if rows else df
    if len(drawn):
        for name in (results_layout.CURVES_PNG, results_layout.CURVES_PDF):
            plot(drawn, Path(out_dir) / name, title, emphasise)
    return df


LINE_STYLES = ("-", "--", ":", "-.")  # past ten rows the colours repeat: the style tells them apart


def _style(experiment: str, k: int, emphasise: tuple[str, ...] = ()) -> dict:
    if experiment == BASELINE:
        return {"color": "black", "lw": 2.2, "zorder": 5, "ls": "-"}
    style = {"color": f"C{k % 10}", "lw": 1.1, "zorder": 3, "ls": LINE_STYLES[(k // 10) % len(LINE_STYLES)]}
    return {**style, "lw": 2.0, "zorder": 4} if experiment in emphasise else style


def _unit(values: pd.Series) -> np.ndarray:
    """A band's edge as drawn: within [0, 1], where every curve lies (a t-interval over few seeds
    can reach past it; `curves.csv` keeps it as computed)."""
    return np.clip(values.to_numpy(dtype=float), 0, 1)


def plot(df: pd.DataFrame, path: Path, title: str, emphasise: tuple[str, ...] = ()) -> None:
    """Three panels: precision over recall, F over threshold, E over threshold; a band per row, its
    max F (the maximum of its mean F curve) in the legend."""
    plt = pyplot()
    n_rows = df.groupby(["experiment", "init"]).ngroups
    ncol = min(5, max(1, n_rows))
    legend_lines = -(-n_rows // ncol)
    height = 4.4 + 0.2 * legend_lines
    fig, axes = plt.subplots(1, 3, figsize=(13.5, height))
    several = df.init.nunique() > 1
    for k, ((e, i), g) in enumerate(df.groupby(["experiment", "init"], sort=False)):
        style = _style(e, k, emphasise)
        label = f"{e} ({i})" if several else e
        label = f"{label}, max F {g.f.max():.3f}"
        band = {"color": style["color"], "alpha": 0.12 if n_rows <= 10 else 0.04, "lw": 0}  # many rows: fainter
        x = {c: g[c].to_numpy(dtype=float) for c in ("recall", "precision", "threshold", "f", "e")}  # plain floats:
        if g.precision.notna().any():  # records older than their PR curves have F and E only     # older matplotlib
            axes[0].plot(x["recall"], x["precision"], label=label, **style)
            axes[0].fill_between(x["recall"], _unit(g.precision_low), _unit(g.precision_high), **band)
        for ax, n in ((axes[1], "f"), (axes[2], "e")):
            ax.plot(x["threshold"], x[n], label=label, **style)
            ax.fill_between(x["threshold"], _unit(g[f"{n}_low"]), _unit(g[f"{n}_high"]), **band)
    for ax, (x, y) in zip(axes, (("recall", "precision"), ("threshold", "F-measure (β² = 0.3)"),
                                 ("threshold", "E-measure"))):  # fmt: skip
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_title("PR curve")
    if df.precision.isna().all():
        axes[0].text(0.5, 0.5, "not kept by these records\n(written before PR curves were)", ha="center", va="center",
                     fontsize=8, color="grey")  # fmt: skip
    axes[1].set_title("F-measure over threshold")
    axes[2].set_title("E-measure over threshold")
    handles, labels = axes[1].get_legend_handles_labels()  # below the panels: a table's rows can be many
    bottom = (0.2 * legend_lines + 0.25) / height
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=7, frameon=False)
    n = int(df.n.max()) if len(df) else 0
    band = "bands: 95 % interval over seeds, within [0, 1]" if n > 1 else "one seed: no band"
    fig.suptitle(f"{title} (mean over seeds; {band})", fontsize=10)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    save_figure(fig, path, dpi=110)
    plt.close(fig)
