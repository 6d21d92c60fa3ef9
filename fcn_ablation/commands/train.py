"""Command line: `python -m fcn_ablation [overrides]` or `fcn-ablation [overrides]`.

A Hydra app over the package's `conf/`; one job trains and measures one experiment, `-m` sweeps
many. What every command shares (the YAML check, the one-line errors, the entry) is in `common.py`.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from fcn_ablation.commands.common import quiet_lightning, start
from fcn_ablation.config.folder import config_dir
from fcn_ablation.errors import Diverged, exit_on_user_error, log_to_files
from fcn_ablation.files import remove_unused


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def _app(cfg) -> float:
    """One job; returns its max F (a selection job's: on validation), the objective a Hydra
    sweeper (Optuna, ...) maximises."""
    from fcn_ablation.commands.sweep_report import build_report
    from fcn_ablation.evaluation.registry import HEADLINE
    from fcn_ablation.results_layout import REPORT_MD, store_dir
    from fcn_ablation.training.job import run

    quiet_lightning()
    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    group = Path(hc.sweep.dir).name if multirun else None
    output_dir = Path(hc.runtime.output_dir)
    try:
        with exit_on_user_error():
            try:
                record = run(cfg, output_dir, group=group)
            except Diverged as err:
                if not multirun:
                    raise
                # One job's finding, not the sweep's end: the others run, and the end of the sweep
                # says it once (`sweep_report`); here, the job's own log keeps it.
                log_to_files(f"diverged: {err}")
                return float("nan")
            # A multirun reports once, at its end (callbacks.ReportCallback), with a benchmark; a
            # selection job (test=false) joins no table.
            if not multirun and cfg.test:
                store = store_dir(cfg.paths.results_dir, record.dataset, record.settings_key)
                out = build_report(cfg, store, Path(cfg.paths.results_dir), bench=False, to_wandb=False)
                print(f"report: {out / REPORT_MD}")
            scores = {record.dataset: record.scores} if record.scores else {}
            scores.update({name: e.scores for name, e in record.test_sets.items()})
            shown = "; ".join(f"{name} {s[HEADLINE]:.4f}" for name, s in scores.items() if HEADLINE in s)
            print(f"table {record.settings_key} ({record.dataset}): {record.experiment}, max F {shown or '-'}")
            print(f"job folder: {output_dir}")
            return float(record.headline[HEADLINE])
    except SystemExit:
        remove_unused(output_dir, cfg.paths.results_dir)
        raise


def main() -> None:
    start(_app)


if __name__ == "__main__":
    main()
