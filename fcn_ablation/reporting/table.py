"""A report's table: the store's records read as rows (the newest record per seed), each a
distribution over seeds with its paired change versus the reference baseline, a paired
permutation test (Holm over the variants) and the benchmark's time columns. No torch."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from fcn_ablation.config.rows import BASELINE, row_order
from fcn_ablation.errors import UserError, warn_once
from fcn_ablation.evaluation import stats
from fcn_ablation.evaluation.registry import HEADLINE, METRICS
from fcn_ablation.models.arch import STAGES
from fcn_ablation.reporting.bench_files import Benchmark
from fcn_ablation.store import filing
from fcn_ablation.store.filing import is_reference_baseline, row_label
from fcn_ablation.store.record import Record

log = logging.getLogger(__name__)

UNTESTED = "?"  # the mark of a change no test could be made for


# ----------------------------------------------------------------------------- reading
def load_store(store: Path) -> list[Record]:
    """Every record of a store folder, checked to belong to one table."""
    store = Path(store)
    paths = sorted(store.glob("*.json"))
    if not paths:
        raise UserError(f"{store}: no result records (*.json) found; run an experiment first")
    recs = [r for r, _ in filing.readable_records(paths, log, filing.TABLE_FIELDS)]  # unreadable: a warning, left out
    if not recs:
        raise UserError(f"{store}: none of its {len(paths)} record files is readable (see the warnings above)")
    for what in ("dataset", "settings_key"):
        values = sorted({str(getattr(r, what)) for r in recs})
        if len(values) > 1:
            raise UserError(
                f"{store}: records of different {what}s ({', '.join(values)}) in one folder; move the strays out"
            )
    splits = sorted({str(r.split_id) for r in recs})
    if len(splits) > 1:  # stores written before the split was part of the key
        first = {s: next(r.path for r in recs if str(r.split_id) == s) for s in splits}
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


def record_arrays(record: Record) -> dict | None:
    """The per-image values filed beside a record read from the store (None without them, or when
    the file is unreadable: a warning naming it, and the row loses its paired tests, not the report)."""
    try:
        return filing.read_arrays(record.path, record.arrays_prefix) if record.path else None
    except UserError as err:
        warn_once(f"left out: {err}", log, about=str(err))
        return None


# ----------------------------------------------------------------------------- the table
def table(recs: list[Record], paper: pd.DataFrame | None = None, bench: Benchmark | None = None, *, permutations: int = 5000,
          alpha: float = 0.05, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """One row per (experiment, initialisation), aggregated over seeds, with paired changes
    versus the reference baseline, tests, and the benchmark's time when `bench` is given."""
    rows = rows_by_seed(recs)
    ref_key = reference_key(rows)
    ref = rows.get(ref_key, {})
    ref_arrays = {s: record_arrays(r) for s, r in ref.items()}
    rng = np.random.default_rng(seed)
    out = []
    for (experiment, label), by_seed in rows.items():
        first = next(iter(by_seed.values()))
        row = {"experiment": experiment, "init": label, "n": len(by_seed), "seeds": " ".join(str(s) for s in sorted(by_seed)),
               "changed_layers": compact_layers(first.changed_layers), "params_m": first.params / 1e6,
               "gmacs": first.macs / 1e9, "cost_at": cost_scale(first), "test_images": first.test_images, "reference": (experiment, label) == ref_key,
               "train_devices": "; ".join(sorted({r.device for r in by_seed.values()})),
               "job_ms_per_image": float(np.mean([r.detection_ms_per_image for r in by_seed.values()]))}  # fmt: skip
        arrays = {s: record_arrays(r) for s, r in by_seed.items()} if ref and (experiment, label) != ref_key else {}
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


def cost_scale(record: Record) -> str:
    """The scale a record's #params and MACs were counted at: its width and the cost's input size
    (`w0.0625-400x300`, as a benchmark's folder names its scale)."""
    from fcn_ablation.store.filing import scale_name

    hw = record.cost_input_hw or [0, 0]
    return scale_name(float(record.width_multiplier or 0), *hw)


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


def _with_time(df: pd.DataFrame, bench: Benchmark, alpha: float) -> pd.DataFrame:
    """Time columns from an interleaved benchmark of the table's variants (`read_bench`)."""
    t = bench.table.set_index("variant")
    raw = bench.raw.pivot(index="round", columns="variant", values="seconds")
    batch = bench.header.batch_size or 1
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
    # MACs against the baseline at the benchmark's scale, the time's: no row mixes two widths
    df = df.assign(
        macs_vs_base_pct=(100 * (time.macs_ratio - 1)).where(time.macs_ratio.notna(), df.get("macs_vs_base_pct"))
    )
    time["time_at"] = bench.path.name
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


def method_rows(recs: list[Record], split: str | None) -> pd.DataFrame:
    """Other methods scored from their saved maps on one set (`store.tested.methods_by_set`), as
    rows beside a table's: one run each (no interval), no size, cost or time (NaN: unknown).
    Results on other split files than the table's are left out, with a warning."""
    out = []
    for r in recs:
        if r.split_id != split:
            warn_once(f"left out: {r.path}: {r.experiment}'s maps were scored on other split files than the table's "
                      "rows; score them again (fcn-ablation-maps)", log)  # fmt: skip
            continue
        row = {"experiment": r.experiment, "init": row_label(r), "n": 1, "seeds": "-", "changed_layers": "-",
               "params_m": math.nan, "gmacs": math.nan, "test_images": r.test_images, "reference": False,
               "train_devices": "-", "job_ms_per_image": math.nan, "method": True}  # fmt: skip
        for m in METRICS:
            row.update({m: r.scores.get(m, math.nan), f"{m}_ci_low": math.nan, f"{m}_ci_high": math.nan})
        out.append(row)
    return pd.DataFrame(out)
