"""Tables 3/4-style reports: pandas over result records -> CSV, Markdown and a plot.

One report covers one data set and one settings key (see `records.settings_key`): one row per
experiment (its newest record), detection time and F-measure with their change versus the
baseline, params and MACs, and the paper's own figures beside them. Run it again at any time:

    python -m fcn_ablation.report results/store/<dataset>/<settings key>
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from fcn_ablation import records
from fcn_ablation.errors import UserError
from fcn_ablation.initialise import is_reference_baseline, row_label
from fcn_ablation.tables import markdown_table

PAPER_TABLES = {"msra10k": "table3_msra10k.csv", "dut_omron": "table4_dut_omron.csv"}
EXPERIMENT_ORDER = ["baseline", *"abcdefgh"]


def paper_dir() -> Path:
    """`results/paper/` of the repository, or its copy inside an installed wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "paper", here.parent / "results" / "paper"):
        if candidate.is_dir():
            return candidate
    return here.parent / "results" / "paper"


def paper_table(dataset: str) -> tuple[pd.DataFrame, str]:
    """The paper's table for `dataset` (Table 3, MSRA10K, for data sets the paper did not use)."""
    name = PAPER_TABLES.get(dataset, PAPER_TABLES["msra10k"])
    path = paper_dir() / name
    if not path.is_file():
        return pd.DataFrame(columns=["experiment", "time_vs_base_pct", "f_vs_base_pct", "f_score"]), name
    return pd.read_csv(path), name


def table(recs: list[dict], paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per experiment and initialisation; changes are percentages versus the newest
    baseline trained from its own start for the table's budget (else the newest baseline row;
    NaN without one)."""
    latest = records.latest_per_row(recs, row_label)
    rows = []
    for (experiment, label), r in latest.items():
        rows.append({
            "experiment": experiment,
            "init": label,
            "changed_layers": " ".join(r["changed_layers"]) or "-",
            "detection_total_s": r["detection_total_s"],
            "ms_per_image": r["detection_ms_per_image"],
            "max_f": r["max_f"],
            "mean_f": r["mean_f"],
            "adaptive_f": r["adaptive_f"],
            "mae": r["mae"],
            "params_m": r["params"] / 1e6,
            "gmacs": r["macs"] / 1e9,
            "test_images": r["test_images"],
            "device": r["device"],
            "created": r["created"],
            "_reference": is_reference_baseline(r),
        })  # fmt: skip
    df = pd.DataFrame(rows)
    order = {e: i for i, e in enumerate(EXPERIMENT_ORDER)}
    df["_order"] = df.experiment.map(lambda e: (order.get(e, len(order)), e))
    df = df.sort_values(["_order", "init"]).drop(columns="_order").reset_index(drop=True)
    baselines = df[df.experiment == "baseline"].sort_values("created")
    base = baselines[baselines._reference].tail(1) if baselines._reference.any() else baselines.tail(1)
    df = df.drop(columns="_reference")
    for col, out in (("ms_per_image", "time_vs_base_pct"), ("max_f", "f_vs_base_pct"), ("gmacs", "macs_vs_base_pct")):
        df[out] = 100 * (df[col] / base[col].iloc[0] - 1) if len(base) else float("nan")
    if paper is not None and len(paper):
        p = paper.rename(columns={"time_vs_base_pct": "paper_time_vs_base_pct", "f_vs_base_pct": "paper_f_vs_base_pct", "f_score": "paper_f"})
        df = df.merge(p[["experiment", "paper_f", "paper_time_vs_base_pct", "paper_f_vs_base_pct"]], on="experiment", how="left")
    return df


def markdown(df: pd.DataFrame, dataset: str, key: str, paper_name: str, settings: dict | None) -> str:
    cols = {
        "experiment": "exp", "init": "init", "changed_layers": "thinned layers", "detection_total_s": "time (s)", "ms_per_image": "ms/image",
        "time_vs_base_pct": "time vs base", "max_f": "max F", "f_vs_base_pct": "F vs base", "mean_f": "mean F",
        "mae": "MAE", "params_m": "params (M)", "gmacs": "GMACs", "macs_vs_base_pct": "MACs vs base",
        "paper_f": "paper F", "paper_time_vs_base_pct": "paper time vs base", "paper_f_vs_base_pct": "paper F vs base",
    }  # fmt: skip
    several_inits = df.init.nunique() > 1
    view = df[[c for c in cols if c in df.columns and (c != "init" or several_inits)]].rename(columns=cols)
    for c in [c for c in view.columns if "vs base" in c]:
        view[c] = view[c].map(lambda v: "-" if pd.isna(v) else f"{v:+.1f} %")
    lines = [f"# Width ablation of FCN-8s: {dataset}", ""]
    if not (df.experiment == "baseline").any():
        lines += ["**No baseline:** no run of `experiment=baseline` with these settings was found, so the",
                  "changes versus the baseline are left blank. Run it with the same overrides plus `experiment=baseline`.", ""]  # fmt: skip
    lines += [
        markdown_table(view, index=False),
        "",
        f"- Settings key `{key}`; records in `results/store/{dataset}/{key}/`; config of every row in its record.",
        "- Detection time: forward passes only, batch of one, at each test image's own size, after warm-up;",
        "  time vs base compares ms/image. max F / mean F / adaptive F: beta^2 = 0.3, PySODMetrics conventions.",
        f"- MACs and params at {df.attrs.get('cost_hw', '300x400')} (H x W), counting convolutions and deconvolutions.",
        f"- Paper columns: `results/paper/{paper_name}` (GTX 1080 Ti, full width, MSRA10K or DUT-OMRON).",
    ]
    if several_inits:  # the same variants from different starting points: compare them side by side
        pivot = df.pivot_table(index="experiment", columns="init", values="max_f", sort=False)
        lines += ["", "## Max F by initialisation", "", markdown_table(pivot, floatfmt=".4f"), "",
                  "- `RULE from baseline`: the trained baseline cut down by RULE (first_k is the paper's), then fine-tuned;",
                  "  `scratch`: random initialisation. Training budget per row: its record (`init.epochs`)."]  # fmt: skip
    if settings:
        s = settings
        lines.append(
            f"- Width multiplier {s['model']['width_multiplier']}, {s['trainer']['max_epochs']} epochs, optimiser "
            f"{s['optimizer']['name']} lr {s['optimizer']['lr']}, batch {s['dataset']['batch_size']}, seed {s['seed']}."
        )
    return "\n".join(lines) + "\n"


OURS = ("tab:blue", "tab:green", "tab:purple", "tab:brown", "tab:olive", "tab:cyan", "tab:orange", "tab:gray")  # red is the paper's


def plot(df: pd.DataFrame, path: Path, dataset: str) -> None:
    """Change in F against change in time versus the baseline, ours beside the paper's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    rows = df[df.experiment != "baseline"]
    inits = list(dict.fromkeys(rows.init))  # one colour per initialisation, the letter on each point
    for i, init in enumerate(inits):
        sub, colour = rows[rows.init == init], OURS[i % len(OURS)]
        label = f"this run ({dataset})" if len(inits) == 1 else f"{init} ({dataset})"
        ax.scatter(sub.time_vs_base_pct, sub.f_vs_base_pct, label=label, color=colour, s=20)
        for _, r in sub.iterrows():
            ax.annotate(r.experiment, (r.time_vs_base_pct, r.f_vs_base_pct), textcoords="offset points", xytext=(3, 2), color=colour, fontsize=8)
    rows = rows.drop_duplicates("experiment")
    if "paper_f_vs_base_pct" in rows:
        ax.scatter(rows.paper_time_vs_base_pct, rows.paper_f_vs_base_pct, marker="x", color="tab:red", label="paper")
        for _, r in rows.iterrows():
            ax.annotate(r.experiment, (r.paper_time_vs_base_pct, r.paper_f_vs_base_pct), textcoords="offset points", xytext=(4, -10), color="tab:red")
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel("detection time vs baseline (%)")
    ax.set_ylabel("max F vs baseline (%)")
    ax.set_title("What each thinned variant costs and saves")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(store: Path, results_dir: Path, out_dir: Path | None = None) -> Path:
    """Build the report of one store folder (`results/store/<dataset>/<key>`) into `out_dir`."""
    store = Path(store)
    paths = sorted(store.glob("*.json"))
    if not paths:
        raise UserError(f"{store}: no result records (*.json) found; run an experiment first")
    recs = records.read_records(paths)
    dataset, key = recs[0]["dataset"], recs[0]["settings_key"]
    paper, paper_name = paper_table(dataset)
    df = table(recs, paper)
    hw = recs[0]["cost_input_hw"]
    df.attrs["cost_hw"] = f"{hw[0]}x{hw[1]}"
    out_dir = Path(out_dir or Path(results_dir) / dataset / key)
    out_dir.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_dir / "results.csv", index=False)
    (out_dir / "report.md").write_text(markdown(df, dataset, key, paper_name, recs[-1].get("config")))
    if (df.experiment == "baseline").any() and len(df) > 1:
        plot(df, out_dir / "f_vs_time.png", dataset)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rebuild a Table 3/4-style report from stored result records.")
    parser.add_argument("store", nargs="+", help="folders results/store/<dataset>/<settings key>")
    parser.add_argument("--results-dir", default="results")
    args = parser.parse_args(argv)
    try:
        for s in args.store:
            print(write_report(Path(s), Path(args.results_dir)) / "report.md")
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
