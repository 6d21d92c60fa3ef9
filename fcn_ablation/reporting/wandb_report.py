"""A report as a W&B run of its own (`job_type="report"`) in the sweep's group: the table as a
`wandb.Table`, the figures as images, the key numbers in the summary. Offline unless the
logger config says otherwise, as every run of this project."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from fcn_ablation.config.checks import wandb_group
from fcn_ablation.training.loggers import quiet_wandb, settle_mode


def summary_numbers(df: pd.DataFrame) -> dict:
    """Per row: max F (mean over seeds), its paired change and Holm p, and the time ratio."""
    out = {}
    for _, r in df.iterrows():
        row = f"{r.experiment}/{r.init}"
        for col in ("max_f", "max_f_delta", "max_f_p_holm", "time_ratio", "n"):
            if col in r and not pd.isna(r[col]):
                out[f"{row}/{col}"] = float(r[col])
    return out


def log_report(out_dir: Path, cfg, group: str | None) -> str:
    """Log the report in `out_dir` (`results.csv`, `f_vs_time.png`, `maps.png`); returns the run's folder."""
    import wandb

    out_dir = Path(out_dir)
    df = pd.read_csv(out_dir / "results.csv")
    mode = settle_mode(cfg.logger)
    quiet_wandb(mode)
    run = wandb.init(
        project=cfg.logger.get("project"),
        entity=cfg.logger.get("entity"),
        group=wandb_group(cfg.logger, group),
        job_type="report",
        name=f"report {out_dir.parent.name}/{out_dir.name}",
        dir=str(out_dir),
        mode=mode,
        config={"report": OmegaConf.to_container(cfg.report, resolve=True), "report_dir": str(out_dir)},
        reinit="finish_previous",
    )
    clean = df.astype(object).where(df.notna(), None)
    logged = {"report/table": wandb.Table(dataframe=clean)}
    for name in ("f_vs_time", "maps"):
        if (out_dir / f"{name}.png").is_file():
            logged[f"report/{name}"] = wandb.Image(str(out_dir / f"{name}.png"))
    run.log(logged)
    run.summary.update(summary_numbers(df))
    folder = run.dir
    run.finish()
    return folder
