"""A report's Markdown: the table with its intervals and marks, the floor row, and the notes
that say how to read it."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pandas as pd

from fcn_ablation.bench.load import load_note
from fcn_ablation.evaluation import stats
from fcn_ablation.evaluation.registry import HEADLINE, METRICS, NOT_SIGNIFICANT
from fcn_ablation.markdown import markdown_table
from fcn_ablation.reporting.bench_files import Benchmark
from fcn_ablation.reporting.floor import LABEL as FLOOR_LABEL
from fcn_ablation.reporting.table import UNTESTED
from fcn_ablation.store.record import Record

log = logging.getLogger(__name__)


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
    line = (f"- {FLOOR_LABEL}: a Gaussian at the image centre, nothing learned (`fcn-ablation-heuristics`), scored on the "
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


def markdown(df: pd.DataFrame, dataset: str, key: str, paper_name: str, settings: Record | None, bench: Benchmark | None,
             notes: list[str], store: str | None = None, floor: dict | None = None) -> str:  # fmt: skip
    """`settings`: a record of the table, whose settings it states; `floor`: the centre prior's scores on the same test images (`reporting.floor`), a row of both tables."""
    several_inits = df.init.nunique() > 1
    has_ref = df.reference.any()
    # every size, cost and time column names the scale it was measured at (`w1-400x300`)
    times = df["time_at"].dropna().unique() if "time_at" in df else []
    at_time = f" ({times[0]})" if len(times) else ""
    costs = df["cost_at"].dropna().unique() if "cost_at" in df else []
    at_macs = at_time or (f" ({costs[0]})" if len(costs) == 1 else "")
    main = pd.DataFrame({
        "exp": df.experiment,
        **({"init": df.init} if several_inits else {}),
        "n": df.n,
        "thinned layers": df.changed_layers,
        f"ms/image{at_time}": [_ci(r.get("ms_per_image"), r.get("ms_ci_low"), r.get("ms_ci_high"), "{:.1f}") for _, r in df.iterrows()],
        f"time vs base{at_time}": [_change(r, "time_vs_base_pct", "time_significant") for _, r in df.iterrows()],
        f"MACs vs base{at_macs}": [("-" if pd.isna(r.get("macs_vs_base_pct", math.nan)) else f"{r.macs_vs_base_pct:+.1f} %") for _, r in df.iterrows()],
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
              f"- MACs and params at {df.attrs.get('cost_hw', '300x400')} (H x W), counting convolutions and deconvolutions; "
              f"the `params_m` and `gmacs` of results.csv at the trained width ({', '.join(sorted(set(df.get('cost_at', pd.Series(dtype=str)).dropna()))) or '-'}), "
              "`MACs vs base` and every time column at the benchmark's scale, named in their headers."]  # fmt: skip
    if paper_name != "-":  # a table on another test set than the training set's has no paper column
        lines.append(f"- Paper columns: `results/paper/{paper_name}` (GTX 1080 Ti, full width, MSRA10K or DUT-OMRON).")
    lines += [f"- {n}" for n in notes]
    if settings is not None and settings.optimizer is not None:
        s = settings
        lines.append(
            f"- Width multiplier {s.width_multiplier}, {s.table_epochs} epochs, optimiser {s.optimizer} lr {s.table_lr}, "
            f"batch {s.batch_size}."
        )
    return "\n".join(lines) + "\n"


def _reading_notes(df: pd.DataFrame, bench: Benchmark | None, n_max: int) -> list[str]:
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
        h = bench.header
        from_bench = f"`{shown_path(bench.path)}`"
        paper = (", eager: the paper's setting (one image at a time in fp32, as its GTX 1080 Ti ran), what this table's "
                 "detection time means; other speed settings, where timed, in the section on them below"
                 if (h.speed or "fp32", h.batch_size or 1) == ("fp32", 1) else "")  # fmt: skip
        out.append(f"- Time: interleaved benchmark of exactly these variants ({from_bench}) on {h.device}, {h.rounds} rounds, "
                   f"{h.width}x{h.height}, batch {h.batch_size}, {h.speed}{paper}, at the widths named in its folder "
                   f"(w1 = the paper's full width); median ms/image with its bootstrap CI; time vs base: median of per-round ratios with its bootstrap CI.")  # fmt: skip
        out.append(f"- {load_note(h)}")
    return out


def shown_path(path: Path) -> str:
    """A path as a reader of the report can follow it: relative to here when it lies below."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()
