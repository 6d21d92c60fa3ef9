"""A report as a W&B run of its own (`job_type="report"`) in the sweep's group: the table as a
`wandb.Table`, the figures as images, the key numbers in the summary. Offline unless the
logger config says otherwise, as every run of this project."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from fcn_ablation import results_layout
from fcn_ablation.config.checks import wandb_group
from fcn_ablation.evaluation.registry import HEADLINE
from fcn_ablation.training.loggers import quiet_wandb, settle_mode


def summary_numbers(df: pd.DataFrame) -> dict:
    """Per row: max F (mean over seeds), its paired change and Holm p, and the time ratio."""
    out = {}
    for _, r in df.iterrows():
        row = f"{r.experiment}/{r.init}"
        for col in (HEADLINE, f"{HEADLINE}_delta", f"{HEADLINE}_p_holm", "time_ratio", "n"):
            if col in r and not pd.isna(r[col]):
                out[f"{row}/{col}"] = float(r[col])
    return out


def curve_plots(curves: pd.DataFrame, name: str) -> dict:
    """One test set's curves (`reporting.curves`' `curves.csv`) as W&B line plots, a line per row:
    precision over recall, F and E over the threshold."""
    import wandb

    rows = list(curves.groupby(["experiment", "init"], sort=False))
    keys = [f"{e} ({i})" if curves.init.nunique() > 1 else str(e) for (e, i), _ in rows]
    plots = {}
    for key, x, y, title in (("pr", "recall", "precision", "PR curve"), ("f", "threshold", "f", "F-measure over threshold"),
                             ("e", "threshold", "e", "E-measure over threshold")):  # fmt: skip
        if curves[y].isna().all():  # records older than their PR curves
            continue
        plots[f"test_sets/{name}/{key}_curve"] = wandb.plot.line_series(
            xs=[g[x].tolist() for _, g in rows], ys=[g[y].tolist() for _, g in rows], keys=keys,
            title=f"{name}: {title}", xname=x,
        )  # fmt: skip
    return plots


def panels_of_test_set(folder: Path) -> dict:
    """What a report's folder of one test set (`test_sets/<name>/`) shows on W&B: its table, its
    curves as line plots and as the figure, its map grid."""
    import wandb

    name, logged = folder.name, {}
    if (folder / results_layout.RESULTS_CSV).is_file():
        t = pd.read_csv(folder / results_layout.RESULTS_CSV)
        logged[f"test_sets/{name}/table"] = wandb.Table(dataframe=t.astype(object).where(t.notna(), None))
    if (folder / results_layout.CURVES_CSV).is_file():
        logged.update(curve_plots(pd.read_csv(folder / results_layout.CURVES_CSV), name))
    for fig in ("curves", "maps"):
        if (folder / f"{fig}.png").is_file():
            logged[f"test_sets/{name}/{fig}"] = wandb.Image(str(folder / f"{fig}.png"))
    return logged


def speed_panels(out_dir: Path) -> dict:
    """Table 3 under every speed setting (`speeds-<device>.csv|.png` beside the report) as W&B
    panels, and each variant's time ratio per setting for the summary: {"panels": ..., "summary": ...}."""
    import wandb

    panels, summary = {}, {}
    for csv in sorted(out_dir.glob(results_layout.speeds_file("", "*", ".csv").name)):
        device = csv.stem.removeprefix(f"{results_layout.SPEEDS}-")
        t = pd.read_csv(csv)
        panels[f"report/speeds/{device}/table"] = wandb.Table(dataframe=t.astype(object).where(t.notna(), None))
        if csv.with_suffix(".png").is_file():
            panels[f"report/speeds/{device}/plot"] = wandb.Image(str(csv.with_suffix(".png")))
        for r in t.dropna(subset=["time_ratio"]).itertuples():
            summary[f"speeds/{device}/{r.setting}/{r.variant}/time_ratio"] = float(r.time_ratio)
    return {"panels": panels, "summary": summary}


def log_report(out_dir: Path, cfg, group: str | None) -> str:
    """Log the report in `out_dir` (`results.csv`, `f_vs_time.png`, `maps.png`, per test set its
    table, curves and maps: `panels_of_test_set`; Table 3 under every speed setting timed:
    `speed_panels`); returns the run's folder."""
    import wandb

    out_dir = Path(out_dir)
    df = pd.read_csv(out_dir / results_layout.RESULTS_CSV)
    mode = settle_mode(cfg.logger)
    quiet_wandb(mode)
    run = wandb.init(
        project=cfg.logger.get("project"),
        entity=cfg.logger.get("entity"),
        group=wandb_group(cfg.logger, group),
        job_type="report",
        name="report {}/{}".format(*results_layout.table_of(out_dir)),
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
    for folder in sorted((out_dir / results_layout.TEST_SETS).glob("*/")):
        logged.update(panels_of_test_set(folder))
    speeds = speed_panels(out_dir)
    logged.update(speeds.pop("panels"))
    run.log(logged)
    run.summary.update({**summary_numbers(df), **speeds["summary"]})
    folder = run.dir
    run.finish()
    return folder
