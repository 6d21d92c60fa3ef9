"""Experiment loggers: any Lightning logger the `logger` section's `_target_` names (the groups
hold Weights & Biases, offline unless configured otherwise; CSV; none).

Each job gets its own W&B run, grouped by sweep, and finishes it at the end of the job, so
the next job of a multirun starts a fresh one. A job that ends otherwise (diverged, interrupted,
failed) finishes its run as failed on its way out (`closed_on_failure`), and a run still open when
a job starts is closed first: Lightning's `WandbLogger` would otherwise log the new job into it.

- **Offline means offline**: no login, and no packet leaves the machine. W&B's error reporting
  (Sentry, in its Go core) resolves and posts to W&B's servers even offline; it is switched
  off for offline runs. `wandb sync <dir>` uploads later.
- **A run never dies for its logger**: `logger.mode=online` without a login, or without a route
  to the W&B server, falls back to offline with one line saying how to sync later, checked at
  start-up before any work (`logger.fallback_offline=false` stops there instead, with one
  line). A failure while writing the final metrics is a warning: the record is already filed.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from omegaconf import OmegaConf, read_write

from fcn_ablation.config import instantiate
from fcn_ablation.config.checks import is_wandb, wandb_group, wandb_mode
from fcn_ablation.config.schema import LoggerConfig
from fcn_ablation.errors import ConfigError
from fcn_ablation.store.record import Record

log = logging.getLogger(__name__)
SUMMARY_FIELDS = ("detection_total_s", "detection_ms_per_image", "params", "macs")  # beside the scores


def _base_url() -> str:
    import wandb

    return os.environ.get("WANDB_BASE_URL") or wandb.Settings().base_url


def _has_login(host: str) -> bool:
    """An API key in the environment or in a netrc entry for the W&B host (what `wandb login` writes)."""
    import netrc

    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        auth = netrc.netrc(os.environ.get("NETRC")).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return False
    return bool(auth and auth[2])


def _reachable(url: str, timeout: float = 3.0) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)), timeout=timeout
        ):
            return True
    except OSError:
        return False


def settle_mode(logger) -> str:
    """The W&B mode this job will use, decided before any work: `online` only with a login and
    a route to the server; otherwise offline (one warning) or, with `logger.fallback_offline=false`,
    a `ConfigError`. Sets the `logger` section's `mode` to the decision, so the record says what happened."""
    if not is_wandb(logger) or os.environ.get("WANDB_MODE", wandb_mode(logger)) != "online":
        return wandb_mode(logger)
    url = _base_url()
    host = urlparse(url).hostname or url
    problem = None
    if not _has_login(host):
        problem = f"no W&B login for {host} (set WANDB_API_KEY or run `wandb login`)"
    elif not _reachable(url):
        problem = f"{url} cannot be reached"
    if problem is None:
        return "online"
    if not instantiate.typed(logger, LoggerConfig, "logger").fallback_offline:
        raise ConfigError(
            f"logger.mode=online: {problem}; fix that, or pass logger.mode=offline (or logger.fallback_offline=true)"
        )
    log.warning(
        "logger.mode=online: %s; logging offline instead. Upload later with: wandb sync <job folder>/wandb/offline-run-*",
        problem,
    )
    print(f"W&B: {problem}; logging offline (wandb sync <job folder>/wandb/offline-run-* uploads it later)")
    with read_write(logger):
        logger.mode = "offline"
    return "offline"


def quiet_wandb(mode: str) -> None:
    """W&B's environment for a run in `mode`: no console chatter; offline, no error reports
    (Sentry would post to W&B's servers). Before `wandb.init`, which starts W&B's core process."""
    os.environ.setdefault("WANDB_SILENT", "true")
    if os.environ.get("WANDB_MODE", mode) != "online":
        os.environ["WANDB_ERROR_REPORTING"] = "false"


def make_logger(cfg, output_dir: Path, group: str | None):
    """The job's logger, as `cfg.logger` names it (None for `_target_: null`), saving into the job
    folder. A W&B run is named after the experiment, grouped by sweep (`group`), and carries the
    whole config. What the section sets itself comes first (its own `save_dir`, `name`, `group`)."""
    section = instantiate.typed(cfg.logger, LoggerConfig, "logger")
    if section._target_ is None:
        return None
    from pytorch_lightning.loggers import Logger

    cls = instantiate.target_class(section, "logger", Logger)
    takes_dir = "save_dir" in inspect.signature(cls.__init__).parameters and section.get("save_dir") is None
    runtime = {"save_dir": str(output_dir)} if takes_dir else {}
    if not is_wandb(section):
        return instantiate.build(section, LoggerConfig, **runtime)
    quiet_wandb(wandb_mode(section))
    close_open_run()
    with read_write(section):
        section.group = wandb_group(section, group)
        section.mode = wandb_mode(section)
        section.setdefault("name", cfg.experiment.name)
        section.setdefault("job_type", cfg.dataset.name)
    logger = instantiate.build(
        section,
        LoggerConfig,
        **runtime,
        config=OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
        reinit="finish_previous",
    )
    # Lightning always passes W&B's deprecated `anonymous` (None), which W&B warns about on every run.
    logger._wandb_init.pop("anonymous", None)
    return logger


def finish_logger(logger, record: Record) -> None:
    """Write the final metrics to the logger and close its run; a failure is a warning (the
    record is filed before this runs)."""
    if logger is None:
        return
    final = {f"final/{k}": v for k, v in record.scores.items()}
    final.update({f"final/{name}/{k}": v for name, e in record.test_sets.items() for k, v in e.scores.items()})
    final.update({f"final/{k}": getattr(record, k) for k in SUMMARY_FIELDS if getattr(record, k) is not None})
    if not record.test:  # a selection job: its scores are the validation split's
        final.update({f"final/val_{k}": v for k, v in record.val_scores.items()})
    try:
        logger.log_metrics(final)
        if hasattr(logger, "experiment") and hasattr(logger.experiment, "summary"):
            logger.experiment.summary.update(final)
            logger.experiment.finish()
        else:
            logger.finalize("success")
    except Exception as err:  # noqa: BLE001 - any logging failure: the result itself is safe
        log.warning(
            "logger: could not write the final metrics (%s: %s); the record is safe in the store",
            type(err).__name__,
            err,
        )


def close_open_run() -> None:
    """Finish, as failed, a W&B run an earlier job of this process left open (a crash in code
    outside `closed_on_failure`): Lightning's `WandbLogger` reuses an open run rather than start one."""
    import sys

    wandb = sys.modules.get("wandb")
    if wandb is None or getattr(wandb, "run", None) is None:
        return
    log.warning("W&B run %s of an earlier job was still open; finished it as failed", wandb.run.id)
    try:
        wandb.run.finish(exit_code=1)
    except Exception as err:  # noqa: BLE001 - the new job's run matters more than the old one's ending
        log.warning("logger: could not finish the open W&B run (%s: %s)", type(err).__name__, err)


@contextlib.contextmanager
def closed_on_failure(logger):
    """Around a job's training and measuring: when it ends by an exception (diverged, Ctrl-C,
    SIGTERM, an error), the logger's run is finished as failed, with the reason in its summary,
    and the exception goes on. The next job of the process then starts a run of its own."""
    try:
        yield
    except BaseException as err:
        abort_logger(logger, err)
        raise


def abort_logger(logger, err: BaseException) -> None:
    """Finish `logger`'s run as failed (W&B: exit code 1 and `ended` in the summary; others:
    `finalize("failed")`); a failure here is a warning, never in the way of the real error."""
    if logger is None:
        return
    from pytorch_lightning.loggers import WandbLogger

    try:
        if isinstance(logger, WandbLogger):
            run = getattr(logger, "_experiment", None)  # never `.experiment`: it would start a run
            if run is not None:
                run.summary["ended"] = f"{type(err).__name__}: {str(err).splitlines()[0][:300] if str(err) else ''}"
                run.finish(exit_code=1)
        else:
            logger.finalize("failed")
    except Exception as other:  # noqa: BLE001
        log.warning("logger: could not close the run of a failed job (%s: %s)", type(other).__name__, other)
