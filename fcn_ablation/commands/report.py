"""`fcn-ablation-report STORE [--bench]` (`python -m fcn_ablation.commands.report`): rebuild a Table 3/4-style report from stored records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fcn_ablation.errors import exit_on_user_error
from fcn_ablation.reporting.report import load_store, report_dir, write_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rebuild a Table 3/4-style report from stored result records.")
    parser.add_argument("store", nargs="+", help="folders results/store/<dataset>/<settings key>")
    parser.add_argument("--results-dir", default=None, help="default: the folder above store/")
    parser.add_argument(
        "--bench",
        action="store_true",
        help="benchmark the table's variants here first (unless already benchmarked on this device)",
    )
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (with --bench)")
    parser.add_argument(
        "--width-multiplier", type=float, default=1.0, help="scale of the time columns (1 = full width)"
    )
    parser.add_argument("--permutations", type=int, default=5000)
    parser.add_argument(
        "--wandb", action="store_true", help="also log the report as a W&B run (offline; `wandb sync` it later)"
    )
    args = parser.parse_args(argv)
    with exit_on_user_error():
        for s in args.store:
            store = Path(s)
            results_dir = Path(args.results_dir) if args.results_dir else store.parent.parent.parent
            if args.bench:
                from fcn_ablation.bench.inference import bench_table  # torch only when asked to time

                recs = load_store(store)
                bench_table(recs, report_dir(results_dir, recs[0].dataset, recs[0].settings_key), device=args.device,
                            rounds=args.rounds, width_multiplier=args.width_multiplier)  # fmt: skip
            out = write_report(
                store, results_dir, permutations=args.permutations, width_multiplier=args.width_multiplier
            )
            if args.wandb:
                from omegaconf import OmegaConf

                from fcn_ablation.config.folder import config_dir
                from fcn_ablation.config.schema import Config
                from fcn_ablation.reporting.wandb_report import log_report

                cfg = OmegaConf.structured(Config)
                cfg.logger = OmegaConf.load(Path(config_dir()) / "logger" / "wandb.yaml")  # the W&B the jobs log to
                log_report(out, cfg, group=None)
            print(out / "report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
