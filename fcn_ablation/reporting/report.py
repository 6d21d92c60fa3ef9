"""Tables 3/4-style reports whose every difference carries its uncertainty.

One report covers one store folder: one data set, one settings key (settings and split files;
see `config.settings_key`). Rows are (experiment, initialisation) pairs, each a distribution
over seeds (the newest record per seed): mean and 95 % t-interval of every metric, the
seed-matched paired change versus the reference baseline with its interval, a paired
permutation test on the test images (pooled over seeds, Holm-corrected over the variants), and
detection time from an interleaved benchmark of exactly the table's variants (`bench.json` under
the report's `bench/` folder), never from single timing passes. Rebuild it at any time:

    fcn-ablation-report results/store/<dataset>/<settings key> [--bench]

This module reads records, per-image arrays and benchmark files; it imports neither torch nor
the model code (`--bench` hands the timing to `fcn_ablation.bench.inference`).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from fcn_ablation import results_layout
from fcn_ablation.config.rows import BASELINE, row_order
from fcn_ablation.errors import UserError, warn_once
from fcn_ablation.evaluation import stats
from fcn_ablation.files import atomic_write_text, pyplot, save_figure, write_csv
from fcn_ablation.markdown import load_note, markdown_table
from fcn_ablation.models.arch import STAGES
from fcn_ablation.reporting.floor import LABEL as FLOOR_LABEL
from fcn_ablation.reporting.floor import centre_prior
from fcn_ablation.store import record as record_types
from fcn_ablation.store import records, tested
from fcn_ablation.store.paper import paper_table
from fcn_ablation.store.records import METRICS, Record, is_reference_baseline, row_label, table_scales

log = logging.getLogger(__name__)

HEADLINE = record_types.HEADLINE
# the mark of a change the tests cannot tell from zero (`store.record`), re-exported for the tables
NOT_SIGNIFICANT = record_types.NOT_SIGNIFICANT
UNTESTED = "?"  # the mark of a change no test could be made for


# ----------------------------------------------------------------------------- reading
def load_store(store: Path) -> list[Record]:
    """Every record of a store folder, checked to belong to one table."""
    store = Path(store)
    paths = sorted(store.glob("*.json"))
    if not paths:
        raise UserError(f"{store}: no result records (*.json) found; run an experiment first")
    recs = [r for r, _ in records.readable_records(paths, log, records.TABLE_FIELDS)]  # unreadable: a warning, left out
    if not recs:
        raise UserError(f"{store}: none of its {len(paths)} record files is readable (see the warnings above)")
    for what in ("dataset", "settings_key"):
        values = sorted({str(getattr(r, what)) for r in recs})
        if len(values) > 1:
            raise UserError(
                f"{store}: records of different {what}s ({', '.join(values)}) in one folder; move the strays out"
            )
    splits = sorted({str(r.split_hash) for r in recs})
    if len(splits) > 1:  # stores written before the split was part of the key
        first = {s: next(r.path for r in recs if str(r.split_hash) == s) for s in splits}
        raise UserError(
            f"{store}: records tested on {len(splits)} different splits ("
            + "; ".join(f"split {s}: e.g. {Path(p).name}" for s, p in first.items())
            + "); rows of one table must share a test set: move the records of all but one split to another folder"
        )
    return recs


def rows_by_seed(recs: list[Record]) -> dict[tuple[str, str], dict[int, Record]]:
    """{(experiment, init label): {seed: newest record}}."""
    out: dict[tuple[str, str], dict[int, dict]] = {}
    for r in sorted(recs, key=lambda r: r.created):
        out.setdefault((r.experiment, row_label(r)), {})[r.the_seed] = r
    return out


def reference_key(rows: dict) -> tuple[str, str] | None:
    """The baseline row variants are compared with: the one holding the newest baseline trained
    from its own start for the table's budget, else the newest baseline row; None without one."""
    baselines = [
        (r.created, key, is_reference_baseline(r))
        for key, seeds in rows.items()
        if key[0] == BASELINE
        for r in seeds.values()
    ]
    if not baselines:
        return None
    refs = [b for b in baselines if b[2]] or baselines
    return max(refs)[1]


def _arrays(record: Record) -> dict | None:
    """The per-image values filed beside a record read from the store (None without them, or when
    the file is unreadable: a warning naming it, and the row loses its paired tests, not the report)."""
    try:
        return records.read_arrays(record.path, record.arrays_prefix) if record.path else None
    except UserError as err:
        warn_once(f"left out: {err}", log, about=str(err))
        return None


# ----------------------------------------------------------------------------- the table
def table(recs: list[Record], paper: pd.DataFrame | None = None, bench: dict | None = None, *, permutations: int = 5000,
          alpha: float = 0.05, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """One row per (experiment, initialisation), aggregated over seeds, with paired changes
    versus the reference baseline, tests, and the benchmark's time when `bench` is given."""
    rows = rows_by_seed(recs)
    ref_key = reference_key(rows)
    ref = rows.get(ref_key, {})
    ref_arrays = {s: _arrays(r) for s, r in ref.items()}
    rng = np.random.default_rng(seed)
    out = []
    for (experiment, label), by_seed in rows.items():
        first = next(iter(by_seed.values()))
        row = {"experiment": experiment, "init": label, "n": len(by_seed), "seeds": " ".join(str(s) for s in sorted(by_seed)),
               "changed_layers": compact_layers(first.changed_layers), "params_m": first.params / 1e6,
               "gmacs": first.macs / 1e9, "test_images": first.test_images, "reference": (experiment, label) == ref_key,
               "train_devices": "; ".join(sorted({r.device for r in by_seed.values()})),
               "job_ms_per_image": float(np.mean([r.detection_ms_per_image for r in by_seed.values()]))}  # fmt: skip
        arrays = {s: _arrays(r) for s, r in by_seed.items()} if ref and (experiment, label) != ref_key else {}
        for m in METRICS:
            values = {s: r.scores[m] for s, r in by_seed.items() if m in r.scores}
            ci = stats.t_interval(list(values.values()))
            row.update({m: ci.mean, f"{m}_ci_low": ci.low, f"{m}_ci_high": ci.high})
            if not ref or (experiment, label) == ref_key:
                continue
            base = {s: r.scores[m] for s, r in ref.items() if m in r.scores}
            d = stats.paired_interval(values, base)
            row.update(
                {f"{m}_delta": d.mean, f"{m}_delta_ci_low": d.low, f"{m}_delta_ci_high": d.high, f"{m}_pairs": d.n}
            )
            row[f"{m}_p"] = _paired_p(arrays, ref_arrays, m, permutations, rng)
        out.append(row)
    df = pd.DataFrame(out)
    df["_order"] = df.experiment.map(row_order)
    df = df.sort_values(["_order", "init"]).drop(columns="_order").reset_index(drop=True)
    for m in METRICS:
        if f"{m}_p" in df:
            df[f"{m}_p_holm"] = stats.holm(df[f"{m}_p"].to_numpy(dtype=float))
            df[f"{m}_significant"] = _significant(
                df[f"{m}_p_holm"], alpha, df[f"{m}_delta_ci_low"], df[f"{m}_delta_ci_high"]
            )
    if ref:
        base_mean = df.loc[df.reference, HEADLINE].iloc[0]
        for col in ("", "_ci_low", "_ci_high"):
            if f"{HEADLINE}_delta{col}" in df:
                df[f"f_vs_base_pct{col}"] = 100 * df[f"{HEADLINE}_delta{col}"] / base_mean
        base_macs = df.loc[df.reference, "gmacs"].iloc[0]
        df["macs_vs_base_pct"] = 100 * (df.gmacs / base_macs - 1)
    if bench is not None:
        df = _with_time(df, bench, alpha)
    if paper is not None and len(paper):
        p = paper.rename(
            columns={
                "time_vs_base_pct": "paper_time_vs_base_pct",
                "f_vs_base_pct": "paper_f_vs_base_pct",
                "f_score": "paper_f",
            }
        )
        df = df.merge(
            p[["experiment", "paper_f", "paper_time_vs_base_pct", "paper_f_vs_base_pct"]], on="experiment", how="left"
        )
    df.attrs.update(reference=ref_key, permutations=permutations, alpha=alpha)
    return df


def compact_layers(layers: list[str]) -> str:
    """`conv2_1 conv2_2 fc6` -> `conv2 fc6`: a block whose every layer is named, by its name."""
    from collections import Counter

    blocks = Counter(name.split("_")[0] for name in layers)
    out = []
    for name in layers:
        block = name.split("_")[0]
        whole = name.startswith("conv") and blocks[block] == BLOCK_SIZES.get(block, 0)
        item = block if whole else name
        if item not in out:
            out.append(item)
    return " ".join(out) or "-"


BLOCK_SIZES = {stage[0].split("_")[0]: len(stage) for stage in STAGES}  # conv1: 2 layers ... conv5: 3


def _significant(
    p_holm: pd.Series, alpha: float, low: pd.Series | None = None, high: pd.Series | None = None
) -> pd.Series:
    """A change counts when the test rejects (Holm-adjusted p < alpha) and, where there is an
    interval over seeds (`low`, `high`), that interval excludes zero: it must hold on the test
    images and across training runs. NA where no test could be made."""
    out = []
    for i, p in zip(p_holm.index, p_holm):
        if pd.isna(p):
            out.append(pd.NA)
            continue
        lo = math.nan if low is None else low[i]
        hi = math.nan if high is None else high[i]
        out.append(bool(p < alpha) and (pd.isna(lo) or lo > 0 or hi < 0))
    return pd.Series(pd.array(out, dtype="boolean"), index=p_holm.index)


def _paired_p(arrays: dict, ref_arrays: dict, metric: str, permutations: int, rng) -> float:
    """Permutation p of one metric over the seeds both rows have per-image values for."""
    key, kind = METRICS[metric].array, METRICS[metric].statistic
    pairs = []
    for s, a in arrays.items():
        b = ref_arrays.get(s)
        if a is None or b is None or key not in a or key not in b:
            continue
        common = sorted(set(a["names"].tolist()) & set(b["names"].tolist()))
        if not common:
            continue
        ia = {n: i for i, n in enumerate(a["names"].tolist())}
        ib = {n: i for i, n in enumerate(b["names"].tolist())}
        pairs.append((a[key][[ia[n] for n in common]], b[key][[ib[n] for n in common]]))
    if not pairs:
        return math.nan
    return stats.permutation_test(pairs, kind, permutations, rng)[1]


def _with_time(df: pd.DataFrame, bench: dict, alpha: float) -> pd.DataFrame:
    """Time columns from an interleaved benchmark of the table's variants (`read_bench`)."""
    t = bench["table"].set_index("variant")
    raw = bench["raw"].pivot(index="round", columns="variant", values="seconds")
    batch = bench["header"].get("batch_size", 1)
    rows = []
    for e in df.experiment:
        if e not in t.index:
            rows.append({})
            continue
        r = t.loc[e]
        p = stats.signed_rank_p(raw[e], raw[BASELINE]) if e != BASELINE and BASELINE in raw else math.nan
        rows.append({"ms_per_image": r.ms_per_image, "ms_ci_low": 1000 * r.ci_low_s / batch, "ms_ci_high": 1000 * r.ci_high_s / batch,
                     "time_ratio": r.get("time_ratio"), "time_ratio_ci_low": r.get("time_ratio_ci_low"),
                     "time_ratio_ci_high": r.get("time_ratio_ci_high"), "macs_ratio": r.get("macs_ratio"), "time_p": p})  # fmt: skip
    cols = [
        "ms_per_image",
        "ms_ci_low",
        "ms_ci_high",
        "time_ratio",
        "time_ratio_ci_low",
        "time_ratio_ci_high",
        "macs_ratio",
        "time_p",
    ]
    time = pd.DataFrame(rows, index=df.index, columns=cols).astype(float)
    for c in ("", "_ci_low", "_ci_high"):
        time[f"time_vs_base_pct{c}"] = 100 * (time[f"time_ratio{c}"] - 1)
    # One test per experiment (rows of other initialisations share its widths, so its time).
    first = ~df.experiment.duplicated()
    holm = pd.Series(stats.holm(time.time_p.where(first).to_numpy(dtype=float)), index=df.index)
    time["time_p_holm"] = df.experiment.map(dict(zip(df.experiment[first], holm[first])))
    time["time_significant"] = _significant(
        time.time_p_holm, alpha, time.time_ratio_ci_low - 1, time.time_ratio_ci_high - 1
    )
    time.loc[df.experiment == BASELINE, [c for c in time.columns if c.startswith("time_vs_base_pct")]] = math.nan
    return pd.concat([df, time], axis=1)


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


# ----------------------------------------------------------------------------- Markdown
def _ci(mean, lo, hi, fmt="{:.4f}") -> str:
    if mean is None or pd.isna(mean):
        return "-"
    if lo is None or pd.isna(lo):
        return fmt.format(mean)
    return f"{fmt.format(mean)} ± {fmt.format((hi - lo) / 2)}"


def _change(row, prefix: str, significant: str, unit: str = " %", fmt: str = "{:+.1f}") -> str:
    mean = row.get(prefix)
    if mean is None or pd.isna(mean):
        return "-"
    lo, hi = row.get(f"{prefix}_ci_low"), row.get(f"{prefix}_ci_high")
    text = fmt.format(mean) + unit
    if lo is not None and not pd.isna(lo):
        text += f" [{fmt.format(lo)}, {fmt.format(hi)}]"
    sig = row.get(significant, pd.NA)
    if pd.isna(sig):
        text += f" {UNTESTED}"
    elif not bool(sig):
        text += f" {NOT_SIGNIFICANT}"
    return text


def _floor_rows(df: pd.DataFrame, floor: dict | None, several_inits: bool) -> tuple[dict, dict]:
    """The centre prior's cells in the main and every-metric tables (one value: nothing to vary)."""
    if floor is None:
        return {}, {}
    s = floor["scores"]
    lead = {"exp": FLOOR_LABEL, **({"init": "-"} if several_inits else {}), "n": "-"}
    main = {**lead, "thinned layers": "(nothing learned)", "max F": f"{s['max_f']:.4f}"}
    every = {**lead, **{label: f"{s[m]:.4f}" if m in s else "-" for m, (label, *_) in METRICS.items()}}
    return main, every


def floor_note(df: pd.DataFrame, floor: dict | None) -> list[str]:
    """What learning bought: the reference baseline's max F over the centre prior's, with its interval."""
    if floor is None:
        return ["- No centre prior row: its test images could not be read here (the warning above names them)."]
    f = floor["scores"][HEADLINE]
    line = (f"- {FLOOR_LABEL}: a Gaussian at the image centre, nothing learned (`fcn-ablation-baselines`), scored on the "
            f"same {floor['test_images']} test images: max F {f:.4f}, MAE {floor['scores']['mae']:.4f}.")  # fmt: skip
    ref = df[df.reference]
    if len(ref):
        r = ref.iloc[0]
        line += f" The baseline clears it by {r.max_f - f:+.4f} max F"
        if not pd.isna(r.max_f_ci_low):  # one seed: no interval
            line += (f" [{r.max_f_ci_low - f:+.4f}, {r.max_f_ci_high - f:+.4f}] (its 95 % interval over seeds, less the "
                     "prior's fixed value)")  # fmt: skip
        line += "."
    return [line]


def markdown(df: pd.DataFrame, dataset: str, key: str, paper_name: str, settings: dict | None, bench: dict | None, notes: list[str],
             store: str | None = None, floor: dict | None = None) -> str:  # fmt: skip
    """`floor`: the centre prior's scores on the same test images (`reporting.floor`), a row of both tables."""
    several_inits = df.init.nunique() > 1
    has_ref = df.reference.any()
    main = pd.DataFrame({
        "exp": df.experiment,
        **({"init": df.init} if several_inits else {}),
        "n": df.n,
        "thinned layers": df.changed_layers,
        "ms/image": [_ci(r.get("ms_per_image"), r.get("ms_ci_low"), r.get("ms_ci_high"), "{:.1f}") for _, r in df.iterrows()],
        "time vs base": [_change(r, "time_vs_base_pct", "time_significant") for _, r in df.iterrows()],
        "MACs vs base": [("-" if pd.isna(r.get("macs_vs_base_pct", math.nan)) else f"{r.macs_vs_base_pct:+.1f} %") for _, r in df.iterrows()],
        "max F": [_ci(r.max_f, r.max_f_ci_low, r.max_f_ci_high) for _, r in df.iterrows()],
        "max F vs base": [_change(r, "max_f_delta", "max_f_significant", "", "{:+.4f}") for _, r in df.iterrows()],
        "F vs base": [_change(r, "f_vs_base_pct", "max_f_significant") for _, r in df.iterrows()],
        "paper F vs base": [("-" if pd.isna(r.get("paper_f_vs_base_pct", math.nan)) else f"{r.paper_f_vs_base_pct:+.1f} %") for _, r in df.iterrows()],
        "paper time vs base": [("-" if pd.isna(r.get("paper_time_vs_base_pct", math.nan)) else f"{r.paper_time_vs_base_pct:+.1f} %") for _, r in df.iterrows()],
    })  # fmt: skip
    all_metrics = pd.DataFrame({"exp": df.experiment, **({"init": df.init} if several_inits else {}), "n": df.n,
                                **{label: [_ci(r[m], r[f"{m}_ci_low"], r[f"{m}_ci_high"]) for _, r in df.iterrows()]
                                   for m, (label, *_) in METRICS.items()}})  # fmt: skip
    floor_main, floor_every = _floor_rows(df, floor, several_inits)
    if floor_main:
        main = pd.concat([main, pd.DataFrame([floor_main])], ignore_index=True).fillna("-")
        all_metrics = pd.concat([all_metrics, pd.DataFrame([floor_every])], ignore_index=True)
    n_max = int(df.n.max())
    lines = [f"# Width ablation of FCN-8s: {dataset}", ""]
    if not has_ref:
        lines += ["**No baseline:** no run of `experiment=baseline` with these settings was found, so the",
                  "changes versus the baseline are left blank. Run it with the same overrides plus `experiment=baseline`.", ""]  # fmt: skip
    lines += [markdown_table(main, index=False), ""]
    lines += floor_note(df, floor)
    lines += _reading_notes(df, bench, n_max)
    lines += [
        "",
        "## Every metric (mean ± half-width of the 95 % CI over seeds)",
        "",
        markdown_table(all_metrics, index=False),
        "",
    ]
    if several_inits:  # the same variants from different starting points: compare them side by side
        cell = df.assign(cell=[_ci(r.max_f, r.max_f_ci_low, r.max_f_ci_high) + (f" {NOT_SIGNIFICANT}" if r.get("max_f_significant") is False else "")
                               for _, r in df.iterrows()])  # fmt: skip
        pivot = cell.pivot_table(index="experiment", columns="init", values="cell", aggfunc="first", sort=False)
        lines += ["## Max F by initialisation", "", markdown_table(pivot), "",
                  "- `RULE from baseline`: the trained baseline of the same seed cut down by RULE (first_k is the paper's), then fine-tuned;",
                  "  `scratch`: random initialisation. A budget in the label (`, 2 epochs`) differs from the table's own.",
                  f"- {NOT_SIGNIFICANT}: max F not significantly different from the baseline's (as above)."]  # fmt: skip
    lines += ["", "## Where the numbers come from", ""]
    if df.seeds.nunique() > 1:
        seeds = "seeds per row: " + "; ".join(f"{r.experiment} ({r.init}): {r.seeds}" for _, r in df.iterrows())
    else:
        seeds = f"every row has seeds {df.seeds.iloc[0]}"
    lines += [f"- Table key `{key}` (settings and split files); records in `{store or f'results/store/{dataset}/{key}'}/`; config of every row in its record.",
              f"- Rows: (experiment, initialisation); n = seeds, the newest record per seed; {seeds}.",
              f"- Trained on: {'; '.join(sorted(set('; '.join(df.train_devices).split('; '))))}.",
              f"- MACs and params at {df.attrs.get('cost_hw', '300x400')} (H x W), counting convolutions and deconvolutions."]  # fmt: skip
    if paper_name != "-":  # a table on another test set than the training set's has no paper column
        lines.append(f"- Paper columns: `results/paper/{paper_name}` (GTX 1080 Ti, full width, MSRA10K or DUT-OMRON).")
    lines += [f"- {n}" for n in notes]
    if settings:
        s = settings
        lines.append(
            f"- Width multiplier {s['model']['width_multiplier']}, {s['trainer']['max_epochs']} epochs, optimiser "
            f"{optimizer_name(s['optimizer'])} lr {s['optimizer']['lr']}, batch {s['dataset']['batch_size']}."
        )
    return "\n".join(lines) + "\n"


def optimizer_name(section: dict) -> str:
    """`adamw`, `sgd`, `rmsprop`: the optimiser's class in lower case (records written before the
    section named its class hold the name itself)."""
    return str(section.get("name") or str(section.get("_target_", "?")).rsplit(".", 1)[-1]).lower()


def _reading_notes(df: pd.DataFrame, bench: dict | None, n_max: int) -> list[str]:
    alpha = df.attrs.get("alpha", 0.05)
    out = []
    if n_max < 2:
        out.append(
            "- **One seed per row: no confidence interval is possible**; run the sweep with `seed=0,1,2,3,4` for intervals."
        )
    else:
        out.append(
            f"- Values: mean over seeds; `± h` and `[low, high]`: {stats.CI_METHOD}. Changes versus the baseline are means of seed-matched paired differences."
        )
    out.append(
        f"- {NOT_SIGNIFICANT} marks a change we cannot tell from zero. A change counts when its test rejects at {alpha:g} (Holm-corrected over "
        f"the variants) and its 95 % interval excludes zero: for max F, a paired permutation test on the same test images "
        f"({df.attrs.get('permutations')} permutations, seed-matched pairs pooled) and the interval over seeds; for time, a Wilcoxon "
        "signed-rank test on the benchmark's per-round paired times and the bootstrap interval of the ratio. Unmarked changes count; "
        f"{UNTESTED} marks a change no test could be made for."
    )
    if "max_f_p" in df and df.loc[~df.reference, "max_f_p"].isna().all():
        out.append("- **No per-image values** in these records (written before they were kept): max F changes are not tested; "
                   "rerun the sweep to test them.")  # fmt: skip
    if bench is None:
        out.append("- **No benchmark of these variants yet**: time columns are empty (the per-job timing passes are in the records, "
                   "not in this table). Run `fcn-ablation-report <this store> --bench`.")  # fmt: skip
    else:
        h = bench["header"]
        from_bench = f"`{_shown(bench['path'])}`"
        out.append(f"- Time: interleaved benchmark of exactly these variants ({from_bench}) on {h['device']}, {h['rounds']} rounds, "
                   f"{h['width']}x{h['height']}, batch {h['batch_size']}, {h['speed']}, at the widths named in its folder "
                   f"(w1 = the paper's full width); median ms/image with its bootstrap CI; time vs base: median of per-round ratios with its bootstrap CI.")  # fmt: skip
        out.append(f"- {load_note(h)}")
    return out


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
    maps = {e: {k[4:]: v for k, v in (_arrays(r) or {}).items() if k.startswith("map/")} for e, r in chosen}
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


# ----------------------------------------------------------------------------- writing
report_dir = results_layout.report_dir  # a table's report folder


def write_report(store: Path, results_dir: Path, out_dir: Path | None = None, *, permutations: int = 5000, alpha: float = 0.05,
                 width_multiplier: float = 1.0) -> Path:  # fmt: skip
    """Build the report of one store folder (`results/store/<dataset>/<key>`) into `out_dir`:
    `results.csv`, `report.md`, `f_vs_time.png`, `maps.png`. The time columns come from the
    newest benchmark under `out_dir/bench/` of exactly the table's variants at the target scale
    (`width_multiplier` of Table 1's widths, the MACs' input size)."""
    all_recs = load_store(store)
    dataset, key = all_recs[0].dataset, all_recs[0].settings_key
    out_dir = Path(out_dir or report_dir(results_dir, dataset, key))
    views = tested.by_set(all_recs, log)
    sets = list(views)
    if not sets:
        raise UserError(f"{store}: its records hold no test scores on any set; run a tested job first")
    # The headline table: the training set's own test split, or, for a table tested on other sets
    # only (trained on DUTS-TR), its first test set.
    primary = sets[0]
    recs = views[primary]
    hw = recs[0].cost_input_hw
    (target_widths, target_scale, _), *other = table_scales(recs, width_multiplier)
    bench = matching_bench(out_dir, target_widths, target_scale)
    notes = []
    trained = matching_bench(out_dir, other[0][0], other[0][1]) if other else None
    if trained is not None:
        notes.append(_trained_scale_note(trained))
    paper, paper_name = paper_table(dataset) if primary == dataset else (None, "-")
    df = table(recs, paper, bench, permutations=permutations, alpha=alpha)
    df.attrs["cost_hw"] = f"{hw[0]}x{hw[1]}"
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(df, out_dir / "results.csv")
    title = dataset if primary == dataset else f"{dataset}, tested on {primary}"
    tables = {primary: df}
    for name in sets[1:]:
        tables[name] = table(views[name], None, bench, permutations=permutations, alpha=alpha)
        tables[name].attrs["cost_hw"] = df.attrs["cost_hw"]
    floors = {name: centre_prior(views[name], out_dir / "test_sets" / name) for name in sets}
    text = markdown(df, title, key, paper_name, recs[-1].config, bench, notes, _shown(store), floors[primary])
    atomic_write_text(
        out_dir / "report.md", text + every_test_set(views, tables, out_dir, dataset, key, bench, notes, store, floors)
    )
    if df.reference.any() and len(df) > 1:
        plot(df, out_dir / "f_vs_time.png", title)
    map_grid(recs, df, out_dir / "maps.png")
    return out_dir


def every_test_set(views: dict[str, list[Record]], tables: dict[str, pd.DataFrame], out_dir: Path, dataset: str,
                   key: str, bench: dict | None, notes: list[str], store: Path, floors: dict) -> str:  # fmt: skip
    """Per test set, its own report, table and curves (`test_sets/<set>/`); all sets side by side
    as `table.tex` (LaTeX, booktabs) and `table.md`, the centre prior (`floors`) as their last row;
    returns the report's section on them."""
    from fcn_ablation.reporting import curves, paste

    lines = ["", "## Every test set", ""]
    for name, df in tables.items():
        recs = views[name]
        folder = out_dir / "test_sets" / name
        folder.mkdir(parents=True, exist_ok=True)
        title = dataset if name == dataset else f"{dataset}, tested on {name}"
        write_csv(df, folder / "results.csv")
        atomic_write_text(
            folder / "report.md",
            markdown(df, title, key, "-", recs[-1].config, bench, notes, _shown(store), floors.get(name)),
        )
        drawn = curves.write_curves(recs, folder, f"{title}: {int(df.test_images.max())} test images")
        map_grid(recs, df, folder / "maps.png")
        shown = f"[curves](test_sets/{name}/curves.png)" if drawn is not None else "no curves (records older than them)"
        lines.append(f"- **{name}** ({int(df.test_images.max())} test images, {len(recs)} records): "
                     f"[report](test_sets/{name}/report.md), {shown}")  # fmt: skip
    caption = (f"Width ablation of FCN-8s trained on {dataset} (table {key}): mean over seeds ± half-width of the 95 % "
               f"interval; best bold, second underlined; {NOT_SIGNIFICANT}: not told apart from the baseline")  # fmt: skip
    floor_scores = {name: f["scores"] for name, f in floors.items() if f is not None}
    atomic_write_text(out_dir / "table.tex", paste.latex(tables, caption, floor=floor_scores))
    atomic_write_text(out_dir / "table.md", paste.markdown(tables, floor=floor_scores))
    lines += ["", "Side by side (also as LaTeX: `table.tex`, booktabs; and `table.md`): mean ± half-width of the 95 % "
              f"interval over seeds; **best**, <u>second</u> per column; {NOT_SIGNIFICANT}: not told apart from the "
              "baseline on that set (paired test on its images and interval over seeds); the centre prior, nothing learned, "
              "is the last row and takes no rank.", "", paste.markdown(tables, floor=floor_scores)]  # fmt: skip
    return "\n".join(lines) + "\n"


def _shown(path: Path) -> str:
    """A path as a reader of the report can follow it: relative to here when it lies below."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _trained_scale_note(bench: dict) -> str:
    t = bench["table"].set_index("variant")
    h = bench["header"]
    if "time_ratio" not in t:
        return f"At the trained scale ({bench['path'].name}) the variants were timed without a baseline: no ratios."
    ratios = ", ".join(
        f"{v} {t.loc[v, 'time_ratio']:.2f}"
        for v in t.index
        if v not in (BASELINE, "matmul") and not pd.isna(t.loc[v, "time_ratio"])
    )
    return (f"At the trained scale ({bench['path'].name}: the records' own widths at the test images' size; {h['device']}, "
            f"{h['rounds']} rounds) the time ratios to the baseline are: {ratios}. Overheads dominate there; the table's time is at the target scale.")  # fmt: skip
