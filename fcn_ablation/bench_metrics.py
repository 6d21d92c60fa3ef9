"""`python -m fcn_ablation.bench_metrics`: how fast our saliency metrics evaluate, against
PySODMetrics on the same CPU, on the same maps, interleaved.

Every metric (F-measure, E-measure, S-measure, weighted F, MAE) on `--maps` realistic maps of
`--height` x `--width` (soft-edged blobs with noise, as a network's), split into `--rounds`
chunks; each chunk is evaluated by both, in alternating order, so drift of a shared machine hits
both alike. Prints (and writes under `--out`) seconds per implementation, the ratio per round
and overall, and the largest difference of the nine results (they must agree to 1e-6). A
benchmark, not a test: nothing here passes or fails on time.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from fcn_ablation.errors import UserError, exit_on_user_error
from fcn_ablation.files import atomic_write_text, write_csv
from fcn_ablation.metrics import SaliencyMetrics
from fcn_ablation.timing import device_slug


def make_maps(n: int, height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` 8-bit maps and masks: one to three soft-edged objects, noise, some empty masks."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    preds, gts = np.zeros((n, height, width), np.uint8), np.zeros((n, height, width), np.uint8)
    for i in range(n):
        soft, mask = np.zeros((height, width)), np.zeros((height, width), bool)
        for _ in range(rng.integers(1, 4)):
            cy, cx = rng.uniform(0, height), rng.uniform(0, width)
            r = rng.uniform(0.05, 0.3) * min(height, width)
            d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) - r
            mask |= d < 0
            soft = np.maximum(soft, 1 / (1 + np.exp((d + rng.normal(0, 3)) / rng.uniform(2, 8))))
        noise = rng.normal(0, rng.uniform(0.02, 0.1), (height, width))
        preds[i] = np.clip(255 * (soft + noise), 0, 255).astype(np.uint8)
        gts[i] = np.where(mask if i % 50 else np.zeros_like(mask), 255, 0)  # every 50th mask empty
    return preds, gts


def ours(preds: np.ndarray, gts: np.ndarray, batch: int) -> dict:
    m = SaliencyMetrics()
    p, g = torch.from_numpy(preds), torch.from_numpy(gts)
    for i in range(0, len(p), batch):
        m.update(p[i : i + batch], g[i : i + batch])
    return {k: float(v) for k, v in m.compute().items()}


def reference(preds: np.ndarray, gts: np.ndarray) -> dict:
    try:
        import py_sod_metrics as sod
    except ImportError as err:
        raise UserError("PySODMetrics is not installed: pip install pysodmetrics (or pip install -e '.[dev]')") from err
    f = sod.FmeasureV2({"f": sod.FmeasureHandler(with_dynamic=True, with_adaptive=True, beta=0.3)})
    e, s, wf, mae = sod.Emeasure(), sod.Smeasure(alpha=0.5), sod.WeightedFmeasure(beta=1), sod.MAE()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for pred, gt in zip(preds, gts):
            for metric in (f, e, s, wf, mae):
                metric.step(pred=pred, gt=gt)
    fr, er = f.get_results()["f"], e.get_results()["em"]
    return {"max_f": fr["dynamic"].max(), "mean_f": fr["dynamic"].mean(), "adaptive_f": fr["adaptive"], "max_e": er["curve"].max(),
            "mean_e": er["curve"].mean(), "adaptive_e": er["adp"], "s_measure": s.get_results()["sm"],
            "weighted_f": wf.get_results()["wfm"], "mae": mae.get_results()["mae"]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--maps", type=int, default=1000)
    parser.add_argument("--height", type=int, default=300)
    parser.add_argument("--width", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5, help="chunks, each evaluated by both in alternating order")
    parser.add_argument("--batch", type=int, default=50, help="maps per update of ours")
    parser.add_argument("--out", default="results/bench", help="writes <out>/<device>/metrics-<maps>x<W>x<H>.{csv,md}")
    args = parser.parse_args(argv)
    with exit_on_user_error():
        if args.maps < args.rounds or args.rounds < 1:
            raise UserError(f"--maps {args.maps} --rounds {args.rounds}: need at least one map per round")
        preds, gts = make_maps(args.maps, args.height, args.width)
        ours(preds[:4], gts[:4], args.batch)  # warm-up: imports, thread pool, lookup tables
        rows, diffs = [], []
        for r, chunk in enumerate(np.array_split(np.arange(args.maps), args.rounds)):
            p, g = preds[chunk], gts[chunk]
            order = ("ours", "pysodmetrics") if r % 2 == 0 else ("pysodmetrics", "ours")
            row = {"round": r, "maps": len(chunk)}
            results = {}
            for name in order:
                t0 = time.perf_counter()
                results[name] = ours(p, g, args.batch) if name == "ours" else reference(p, g)
                row[f"{name}_s"] = time.perf_counter() - t0
            row["ratio"] = row["pysodmetrics_s"] / row["ours_s"]
            diffs.append(max(abs(results["ours"][k] - results["pysodmetrics"][k]) for k in results["ours"]))
            rows.append(row)
            print(
                f"round {r}: {len(chunk)} maps, ours {row['ours_s']:.2f} s, PySODMetrics {row['pysodmetrics_s']:.2f} s, {row['ratio']:.1f}x",
                flush=True,
            )
        df = pd.DataFrame(rows)
        total = df.pysodmetrics_s.sum() / df.ours_s.sum()
        slug = device_slug(torch.device("cpu"))
        lines = [
            f"# Saliency metrics: ours against PySODMetrics ({slug})", "",
            f"{args.maps} maps of {args.width}x{args.height}, every metric (F, E, S, weighted F, MAE), {args.rounds} interleaved rounds; "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads.", "",
            df.astype({"round": str, "maps": str}).to_markdown(index=False, floatfmt=".3f"), "",
            f"- Total: ours {df.ours_s.sum():.2f} s, PySODMetrics {df.pysodmetrics_s.sum():.2f} s: **{total:.1f}x** "
            f"(per round {df.ratio.min():.1f}x to {df.ratio.max():.1f}x).",
            f"- Largest difference of the nine results over all rounds: {max(diffs):.1e}.",
        ]  # fmt: skip
        out = Path(args.out) / slug
        out.mkdir(parents=True, exist_ok=True)
        stem = f"metrics-{args.maps}x{args.width}x{args.height}"
        write_csv(df, out / f"{stem}.csv")
        atomic_write_text(out / f"{stem}.md", "\n".join(lines) + "\n")
        print("\n".join(lines[-2:]))
        print(f"written: {out / stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
