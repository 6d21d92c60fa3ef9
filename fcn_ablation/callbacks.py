"""Hydra callback: when a multirun ends, turn its jobs' records into reports.

Registered in `conf/config.yaml` under `hydra.callbacks`, so it runs in the launching process
once all jobs are done, whatever the launcher (local, joblib, SLURM).
"""

from __future__ import annotations

import logging
from pathlib import Path

from hydra.experimental.callback import Callback

from fcn_ablation import records
from fcn_ablation.report import write_report

log = logging.getLogger(__name__)


class ReportCallback(Callback):
    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        recs = [records.read_record(p) for p in sorted(sweep_dir.glob("*/record.json"))]
        if not recs:
            log.warning("no result records in %s: no report written", sweep_dir)
            return
        results_dir = Path(recs[0]["config"]["paths"]["results_dir"])
        for dataset, key in sorted({(r["dataset"], r["settings_key"]) for r in recs}):
            out = write_report(records.store_dir(results_dir, dataset, key), results_dir)
            log.info("report: %s", out / "report.md")
            print(f"report: {out / 'report.md'}")
