"""A report's figures: max F against time with the Pareto front, and the grid of saliency maps."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from fcn_ablation.config.rows import row_order
from fcn_ablation.errors import UserError
from fcn_ablation.files import pyplot, save_figure
from fcn_ablation.reporting.table import record_arrays, rows_by_seed
from fcn_ablation.store.record import Record

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- figures
OURS = (
    "tab:blue",
    "tab:green",
    "tab:purple",
    "tab:brown",
    "tab:olive",
    "tab:cyan",
    "tab:orange",
    "tab:gray",
)  # red is the paper's


def pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats in both lower x and higher y, by x."""
    idx = []
    for i in np.argsort(x, kind="stable"):
        if not idx or y[i] > y[idx[-1]]:
            idx.append(i)
    return np.array(idx, dtype=int)


def plot(df: pd.DataFrame, path: Path, dataset: str) -> None:
    """Change in max F against change in time versus the baseline, each with its 95 % CI on
    both axes, the Pareto front of our variants, and the paper's points. Without a benchmark,
    x is the change in MACs (computed, not measured): no point is placed by single-pass timing."""
    plt = pyplot()

    timed = "time_vs_base_pct" in df and df.time_vs_base_pct.notna().any()
    xcol = "time_vs_base_pct" if timed else "macs_vs_base_pct"
    rows = df[~df.reference & df[xcol].notna() & df.f_vs_base_pct.notna()]
    fig, ax = plt.subplots(figsize=(7.2, 5.4))
    for i, init in enumerate(dict.fromkeys(rows.init)):
        sub, colour = rows[rows.init == init], OURS[i % len(OURS)]
        xerr = [sub[xcol] - sub[f"{xcol}_ci_low"], sub[f"{xcol}_ci_high"] - sub[xcol]] if timed else None
        yerr = [sub.f_vs_base_pct - sub.f_vs_base_pct_ci_low, sub.f_vs_base_pct_ci_high - sub.f_vs_base_pct]
        yerr = None if np.isnan(np.asarray(yerr, dtype=float)).all() else np.nan_to_num(np.asarray(yerr, dtype=float))
        ax.errorbar(
            sub[xcol],
            sub.f_vs_base_pct,
            xerr=xerr,
            yerr=yerr,
            fmt="o",
            ms=4,
            color=colour,
            capsize=2,
            lw=0.8,
            label=f"{init} ({dataset})",
        )
        for _, r in sub.iterrows():
            ax.annotate(
                r.experiment,
                (r[xcol], r.f_vs_base_pct),
                textcoords="offset points",
                xytext=(3, 3),
                color=colour,
                fontsize=8,
            )
    if len(rows):
        front = pareto_front(rows[xcol].to_numpy(float), rows.f_vs_base_pct.to_numpy(float))
        fx, fy = rows[xcol].to_numpy(float)[front], rows.f_vs_base_pct.to_numpy(float)[front]
        ax.step(fx, fy, where="post", color="black", lw=1, ls=":", label="Pareto front (ours, means)")
    paper = df.drop_duplicates("experiment")
    if "paper_f_vs_base_pct" in paper:  # its time on a GTX 1080 Ti; its MACs are ours (the same layers halved)
        px = paper.paper_time_vs_base_pct if timed else paper.macs_vs_base_pct
        label = "paper (time on a GTX 1080 Ti)" if timed else "paper"
        ax.scatter(px, paper.paper_f_vs_base_pct, marker="x", color="tab:red", label=label)
        for x, (_, r) in zip(px, paper.iterrows()):
            if not pd.isna(r.paper_f_vs_base_pct):
                ax.annotate(
                    r.experiment,
                    (x, r.paper_f_vs_base_pct),
                    textcoords="offset points",
                    xytext=(4, -10),
                    color="tab:red",
                )
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel(
        "detection time vs baseline (%, interleaved benchmark)"
        if timed
        else "MACs vs baseline (%; not benchmarked yet)"
    )
    ax.set_ylabel("max F vs baseline (%, seed-matched)")
    ax.set_title("What each thinned variant costs and saves (95 % CIs)")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def map_grid(recs: list[Record], df: pd.DataFrame, path: Path) -> bool:
    """The paper's Figures 4/5: for a few fixed test images, the image, its ground truth, and the
    baseline's and every variant's saliency map (lowest seed of the rows that share the
    baseline's initialisation). False when no record kept maps."""
    from fcn_ablation.data.pairs import decode_image, decode_mask, summary_test_pairs

    ref = df.attrs.get("reference")
    label = ref[1] if ref else df.init.iloc[0]
    rows = rows_by_seed(recs)
    chosen = [(e, by_seed[min(by_seed)]) for (e, lab), by_seed in rows.items() if lab == label]
    chosen.sort(key=lambda c: row_order(c[0]))
    maps = {e: {k[4:]: v for k, v in (record_arrays(r) or {}).items() if k.startswith("map/")} for e, r in chosen}
    names = sorted(set().union(*[set(m) for m in maps.values()])) if maps else []
    if not names:
        return False
    try:
        pairs = {p.stem: p for p in summary_test_pairs(chosen[0][1].data, chosen[0][1].config.get("dataset", {}))}
    except (OSError, KeyError, UserError):
        pairs = {}
    plt = pyplot()

    cols = ["image", "ground truth"] + [e for e, _ in chosen]
    fig, axes = plt.subplots(len(names), len(cols), figsize=(1.3 * len(cols), 1.4 * len(names)), squeeze=False)
    for i, name in enumerate(names):
        panels = [
            decode_image(pairs[name].image) if name in pairs else None,
            decode_mask(pairs[name].mask, pairs[name].mask_threshold) if name in pairs else None,
        ]
        panels += [maps[e].get(name) for e, _ in chosen]
        for j, (ax, img) in enumerate(zip(axes[i], panels)):
            ax.set_xticks([]), ax.set_yticks([])
            if img is not None:
                ax.imshow(np.asarray(img), cmap=None if j == 0 else "gray", vmin=0, vmax=1 if j == 1 else 255)
            else:
                ax.text(0.5, 0.5, "not found", ha="center", va="center", fontsize=6)
            if i == 0:
                ax.set_title(cols[j], fontsize=8)
        axes[i][0].set_ylabel(name, fontsize=7)
    fig.suptitle(f"Saliency maps, test images ({label}, lowest seed)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return True
