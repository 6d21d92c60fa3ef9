"""Command line: `python -m fcn_ablation [overrides]` or `fcn-ablation [overrides]`.

A Hydra app over `conf/`; one job trains and measures one experiment, `-m` sweeps many.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from fcn_ablation.config import register
from fcn_ablation.errors import exit_on_user_error


def config_dir() -> str:
    """`conf/` inside an installed wheel, else the repository's top-level `conf/`."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return str(candidate)
    raise FileNotFoundError(f"no conf/config.yaml next to {here}")


register()


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def _app(cfg) -> float:
    """One job; returns its max F, the objective a Hydra sweeper (Optuna, ...) maximises."""
    from fcn_ablation.callbacks import build_report
    from fcn_ablation.records import store_dir
    from fcn_ablation.run import run

    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    group = Path(hc.sweep.dir).name if multirun else None
    with exit_on_user_error():
        record = run(cfg, Path(hc.runtime.output_dir), group=group)
        if not multirun:  # a multirun reports once, at its end (callbacks.ReportCallback), with a benchmark
            store = store_dir(cfg.paths.results_dir, record["dataset"], record["settings_key"])
            out = build_report(cfg, store, Path(cfg.paths.results_dir), bench=False, to_wandb=False)
            print(f"report: {out / 'report.md'}")
        return float(record["max_f"])


def main() -> None:
    _app()


if __name__ == "__main__":
    main()
