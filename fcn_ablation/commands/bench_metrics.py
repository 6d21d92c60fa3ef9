"""`fcn-ablation-bench-metrics` (`python -m fcn_ablation.commands.bench_metrics`): our saliency metrics against PySODMetrics, timed in interleaved rounds."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from fcn_ablation.bench.metrics_speed import make_maps, ours, reference
from fcn_ablation.errors import UserError, exit_on_user_error
from fcn_ablation.evaluation.timing import device_slug
from fcn_ablation.files import atomic_write_text, write_csv
from fcn_ablation.models.arch import TYPICAL_HW


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--maps", type=int, default=1000)
    parser.add_argument("--height", type=int, default=TYPICAL_HW[0])
    parser.add_argument("--width", type=int, default=TYPICAL_HW[1])
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
