"""Experiment loggers: Weights & Biases (offline unless configured otherwise), CSV, or none.

Each job gets its own W&B run, grouped by sweep, and finishes it at the end of the job, so
the next job of a multirun starts a fresh one. Offline mode needs no login and no network;
`wandb sync <dir>` uploads later.
"""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

SUMMARY_KEYS = ("max_f", "mean_f", "adaptive_f", "max_e", "mean_e", "adaptive_e", "s_measure", "weighted_f", "mae", "detection_total_s", "detection_ms_per_image", "params", "macs")


def make_logger(cfg, output_dir: Path, group: str | None):
    name = cfg.logger.name
    if name == "none":
        return None
    if name == "csv":
        from pytorch_lightning.loggers import CSVLogger

        return CSVLogger(save_dir=str(output_dir), name="", version="")
    from pytorch_lightning.loggers import WandbLogger

    os.environ.setdefault("WANDB_SILENT", "true")
    return WandbLogger(
        project=cfg.logger.project,
        entity=cfg.logger.entity,
        group=cfg.logger.group or group or "single",
        name=cfg.experiment.name,
        job_type=cfg.dataset.name,
        save_dir=str(output_dir),
        mode=cfg.logger.mode,
        config=OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
        reinit="finish_previous",
    )


def finish_logger(logger, record: dict) -> None:
    """Write the final metrics to the logger and close its run."""
    if logger is None:
        return
    final = {f"final/{k}": record[k] for k in SUMMARY_KEYS}
    logger.log_metrics(final)
    if hasattr(logger, "experiment") and hasattr(logger.experiment, "summary"):
        logger.experiment.summary.update(final)
        logger.experiment.finish()
    else:
        logger.finalize("success")
