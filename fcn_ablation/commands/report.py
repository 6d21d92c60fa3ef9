"""`fcn-ablation-report STORE [--bench]` (`python -m fcn_ablation.commands.report`): rebuild a Table 3/4-style report from stored records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fcn_ablation import results_layout
from fcn_ablation.errors import ConfigError, exit_on_user_error
from fcn_ablation.files import check_writable, why_not_writable
from fcn_ablation.reporting.report import load_store, write_report
from fcn_ablation.results_layout import report_dir
from fcn_ablation.store.record import Record


def writable_report_dir(recs: list[Record], results_dir: Path, chosen: bool) -> Path:
    """The folder the report of a store's records goes to, checked before any work: a store one can
    read but not write (a read-only mount, a colleague's made with umask 022) is one line saying
    where the report could go instead, never a traceback halfway through the report."""
    out = report_dir(results_dir, recs[0].dataset, recs[0].settings_key)
    if chosen:
        return check_writable(out, "--results-dir")
    why = why_not_writable(out)
    if why is not None:
        raise ConfigError(
            f"{out}: cannot write the report beside the store ({why}); the store is only read, so write the report "
            "elsewhere: --results-dir DIR"
        )
    return out


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
        "--speeds",
        default="defaults",
        help="with --bench: the speed settings to time, comma-separated (fp32, fp32-tf32, bf16, bf16-graphs, "
        "bf16-b16, ...; `defaults`: a GPU's five, a CPU's fp32); the table's time columns read fp32",
    )
    parser.add_argument(
        "--width-multiplier", type=float, default=1.0, help="scale of the time columns (1 = full width)"
    )
    parser.add_argument("--permutations", type=int, default=5000)
    parser.add_argument("--rows", default=None, help="the rows each set's curves draw, comma-separated (default: all)")
    parser.add_argument(
        "--emphasise", default="", help="rows the curves draw thicker, as the baseline, comma-separated"
    )
    parser.add_argument(
        "--wandb", action="store_true", help="also log the report as a W&B run (offline; `wandb sync` it later)"
    )
    args = parser.parse_args(argv)
    with exit_on_user_error():
        for s in args.store:
            store = Path(s)
            results_dir = (
                Path(args.results_dir) if args.results_dir else results_layout.results_of_store(store) or store.parent
            )
            recs = load_store(store)
            out = writable_report_dir(recs, results_dir, chosen=args.results_dir is not None)
            if args.bench:
                from fcn_ablation.bench.inference import bench_table  # torch only when asked to time

                bench_table(recs, out, device=args.device, rounds=args.rounds, width_multiplier=args.width_multiplier,
                            speeds=args.speeds.split(","))  # fmt: skip
            out = write_report(
                store,
                results_dir,
                permutations=args.permutations,
                width_multiplier=args.width_multiplier,
                recs=recs,
                curve_rows=args.rows.split(",") if args.rows else None,
                emphasise=tuple(filter(None, args.emphasise.split(","))),
            )
            if args.wandb:
                from omegaconf import OmegaConf

                from fcn_ablation.config.folder import config_dir
                from fcn_ablation.config.schema import Config
                from fcn_ablation.reporting.wandb_report import log_report

                cfg = OmegaConf.structured(Config)
                cfg.logger = OmegaConf.load(Path(config_dir()) / "logger" / "wandb.yaml")  # the W&B the jobs log to
                log_report(out, cfg, group=None)
            print(out / results_layout.REPORT_MD)
    return 0


if __name__ == "__main__":
    sys.exit(main())
