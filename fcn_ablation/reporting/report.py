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

import logging
from pathlib import Path

import pandas as pd

from fcn_ablation import results_layout
from fcn_ablation.config.rows import BASELINE
from fcn_ablation.errors import UserError
from fcn_ablation.evaluation.registry import METRICS, NOT_SIGNIFICANT
from fcn_ablation.files import atomic_write_text, write_csv
from fcn_ablation.markdown import markdown_table
from fcn_ablation.reporting.bench_files import Benchmark, matching_bench, speed_benches
from fcn_ablation.reporting.figures import map_grid, plot
from fcn_ablation.reporting.floor import centre_prior
from fcn_ablation.reporting.table import load_store, method_rows, table
from fcn_ablation.reporting.text import markdown, shown_path
from fcn_ablation.store import tested
from fcn_ablation.store.filing import table_scales
from fcn_ablation.store.paper import paper_table
from fcn_ablation.store.record import Record

log = logging.getLogger(__name__)

# what other modules and the tests take from here
__all__ = ["NOT_SIGNIFICANT", "load_store", "report_dir", "table", "write_report"]


# ----------------------------------------------------------------------------- writing
report_dir = results_layout.report_dir  # a table's report folder


def write_report(store: Path, results_dir: Path, out_dir: Path | None = None, *, permutations: int = 5000, alpha: float = 0.05,
                 width_multiplier: float = 1.0, recs: list[Record] | None = None, curve_rows: list[str] | None = None,
                 emphasise: tuple[str, ...] = ()) -> Path:  # fmt: skip
    """Build the report of one store folder (`results/store/<dataset>/<key>`) into `out_dir`:
    `results.csv`, `report.md`, `f_vs_time.png`, `maps.png`. The time columns come from the
    newest benchmark under `out_dir/bench/` of exactly the table's variants at the target scale
    (`width_multiplier` of Table 1's widths, the MACs' input size). `recs`: the store's records,
    where the caller has read them already; `curve_rows`, `emphasise`: the rows each set's curves
    draw (all by default) and those drawn thicker (`reporting.curves.write_curves`)."""
    all_recs = recs if recs is not None else load_store(store)
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
    write_csv(df, out_dir / results_layout.RESULTS_CSV)
    title = dataset if primary == dataset else f"{dataset}, tested on {primary}"
    tables = {primary: df}
    for name in sets[1:]:
        tables[name] = table(views[name], None, bench, permutations=permutations, alpha=alpha)
        tables[name].attrs["cost_hw"] = df.attrs["cost_hw"]
    floors = {name: centre_prior(views[name], out_dir / results_layout.TEST_SETS / name) for name in sets}
    found = tested.methods_by_set(store, log)
    methods = {name: (found.get(name, []), method_rows(found.get(name, []), views[name][0].split_id)) for name in sets}
    text = markdown(df, title, key, paper_name, recs[-1], bench, notes, shown_path(store), floors[primary])
    atomic_write_text(
        out_dir / results_layout.REPORT_MD,
        text
        + every_test_set(
            views, tables, out_dir, dataset, key, bench, notes, store, floors, methods, curve_rows, emphasise
        )
        + every_speed_setting(out_dir, target_widths, target_scale),
    )
    if df.reference.any() and len(df) > 1:
        plot(df, out_dir / results_layout.F_VS_TIME_PNG, title)
    map_grid(recs, df, out_dir / results_layout.MAPS_PNG)
    return out_dir


def every_test_set(views: dict[str, list[Record]], tables: dict[str, pd.DataFrame], out_dir: Path, dataset: str,
                   key: str, bench: Benchmark | None, notes: list[str], store: Path, floors: dict,
                   methods: dict | None = None, curve_rows: list[str] | None = None,
                   emphasise: tuple[str, ...] = ()) -> str:  # fmt: skip
    """Per test set, its own report, table and curves (`test_sets/<set>/`); all sets side by side
    as `table.tex` (LaTeX, booktabs) and `table.md`, the centre prior (`floors`) as their last row;
    `methods`: {set: (views, rows)} of other methods scored from saved maps, beside our rows in the
    paste tables, the curves and the set's report. Returns the report's section on them."""
    methods = methods or {}
    from fcn_ablation.reporting import curves, paste

    lines = ["", "## Every test set", ""]
    pasted = {}
    for name, df in tables.items():
        recs = views[name]
        method_views, rows = methods.get(name, ([], pd.DataFrame()))
        pasted[name] = pd.concat([df, rows], ignore_index=True) if len(rows) else df
        shown_methods = [v for v in method_views if len(rows) and v.experiment in set(rows.experiment)]
        folder = out_dir / results_layout.TEST_SETS / name
        folder.mkdir(parents=True, exist_ok=True)
        title = dataset if name == dataset else f"{dataset}, tested on {name}"
        write_csv(df, folder / results_layout.RESULTS_CSV)
        atomic_write_text(
            folder / results_layout.REPORT_MD,
            markdown(df, title, key, "-", recs[-1], bench, notes, shown_path(store), floors.get(name))
            + other_methods(rows),
        )
        drawn = curves.write_curves(recs + shown_methods, folder, f"{title}: {int(df.test_images.max())} test images",
                                    curve_rows, emphasise)  # fmt: skip
        map_grid(recs, df, folder / results_layout.MAPS_PNG)
        shown = (f"[curves](test_sets/{name}/curves.png) ([PDF](test_sets/{name}/curves.pdf))" if drawn is not None
                 else "no curves (records older than them)")  # fmt: skip
        lines.append(f"- **{name}** ({int(df.test_images.max())} test images, {len(recs)} records): "
                     f"[report](test_sets/{name}/report.md), {shown}")  # fmt: skip
    caption = paste_caption(views[next(iter(tables))], dataset, list(tables), any(len(r) for _, r in methods.values()))
    floor_scores = {name: f["scores"] for name, f in floors.items() if f is not None}
    atomic_write_text(out_dir / results_layout.TABLE_TEX, paste.latex(pasted, caption, floor=floor_scores))
    atomic_write_text(out_dir / results_layout.TABLE_MD, paste.markdown(pasted, floor=floor_scores))
    lines += ["", "Side by side (also as LaTeX: `table.tex`, booktabs, resized to the text width; and `table.md`): "
              f"{caption}", "", paste.markdown(pasted, floor=floor_scores)]  # fmt: skip
    return "\n".join(lines) + "\n"


def every_speed_setting(out_dir: Path, widths: dict, scale: str) -> str:
    """Table 3 under every speed setting benchmarked at the target `scale` (`speeds-<device>.*` per
    device with more than the paper's setting); the report's section on them ("" when none)."""
    from fcn_ablation.reporting import speed_table

    lines = []
    for device, benches in speed_benches(out_dir, widths, scale).items():
        if len(benches) < 2:
            continue
        benches = speed_table.in_order(benches)
        t = speed_table.write(benches, out_dir, device, f"Table 3 under {len(benches)} speed settings ({scale})")
        lines += ["", speed_table.markdown(t, benches, f"Detection time under every speed setting: {benches[0].header.device}", 2),
                  f"(Also as `speeds-{device}.csv`, as LaTeX to paste, `speeds-{device}.tex`, and a plot, "
                  f"`speeds-{device}.png`.)"]  # fmt: skip
    return "\n".join(lines) + ("\n" if lines else "")


def paste_caption(recs: list[Record], dataset: str, sets: list[str], with_methods: bool) -> str:
    """What a reader of the paste table needs to know, in words: what the rows are, what a cell
    holds, and the width, input size and device the cost and speed columns belong to."""
    widths = sorted({f"{r.width_multiplier:g}" for r in recs if r.width_multiplier is not None})
    hw = recs[0].cost_input_hw or [0, 0]
    devices = "; ".join(sorted({r.device for r in recs if r.device}))
    others = (
        " and other methods scored from their saved maps (one run each; size and speed unknown: -)"
        if with_methods
        else ""
    )
    return (f"Salient-region detection on {', '.join(sets)}: FCN-8s with thinned layers, trained on {dataset} at "
            f"{' and '.join(widths)} times the paper's width{others}. Scores: mean over seeds ± half-width of the 95 % "
            f"interval; best bold, second underlined, ranked as printed; {NOT_SIGNIFICANT}: not told apart from the "
            f"unthinned baseline. #Params and GMACs (at {hw[1]}x{hw[0]} input) of the networks evaluated; ms: mean "
            f"detection time per image of each job's timing pass on {devices or 'its device'} (FPS = 1000 / ms). The "
            "centre prior, nothing learned, is the last row and takes no rank.")  # fmt: skip


def other_methods(rows: pd.DataFrame) -> str:
    """A set's report section on other methods scored from their saved maps (`fcn-ablation-maps`)."""
    if not len(rows):
        return ""
    view = pd.DataFrame({"method": rows.experiment, "images": rows.test_images,
                         **{m.label: rows[name].map(lambda v: f"{v:.4f}") for name, m in METRICS.items()}})  # fmt: skip
    return (
        "\n## Other methods (scored from their saved maps)\n\nOne run each, scored on the same test images with the "
        "same metrics (`fcn-ablation-maps`); no interval, no size, cost or time.\n\n"
        + markdown_table(view, index=False)
        + "\n"
    )


def _trained_scale_note(bench: Benchmark) -> str:
    t = bench.table.set_index("variant")
    h = bench.header
    if "time_ratio" not in t:
        return f"At the trained scale ({bench.path.name}) the variants were timed without a baseline: no ratios."
    ratios = ", ".join(
        f"{v} {t.loc[v, 'time_ratio']:.2f}"
        for v in t.index
        if v not in (BASELINE, "matmul") and not pd.isna(t.loc[v, "time_ratio"])
    )
    return (f"At the trained scale ({bench.path.name}: the records' own widths at the test images' size; {h.device}, "
            f"{h.rounds} rounds) the time ratios to the baseline are: {ratios}. Overheads dominate there; the table's time is at the target scale.")  # fmt: skip
