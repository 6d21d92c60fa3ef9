"""Command line: `python -m fcn_ablation [overrides]` or `fcn-ablation [overrides]`.

A Hydra app over `conf/`; one job trains and measures one experiment, `-m` sweeps many.
Before Hydra composes anything, every YAML file of `conf/` is parsed once (`check_config_files`):
a syntax error in a user's experiment file is then one line naming the file, line and column,
not the YAML parser's traceback from inside Hydra.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from fcn_ablation.config import register
from fcn_ablation.errors import ConfigError, exit_on_user_error


def config_dir() -> str:
    """`conf/` inside an installed wheel, else the repository's top-level `conf/`."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return str(candidate)
    raise FileNotFoundError(f"no conf/config.yaml next to {here}")


def check_config_files(directory: str | Path | None = None) -> None:
    """Parse every YAML file of the config folder; `ConfigError` naming the first broken one."""
    import yaml

    for path in sorted(Path(directory or config_dir()).rglob("*.yaml")):
        try:
            yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            mark, start = getattr(err, "problem_mark", None), getattr(err, "context_mark", None)
            where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            context = getattr(err, "context", None)
            if context and start:
                problem += f" ({context} from line {start.line + 1}, column {start.column + 1})"
            raise ConfigError(f"{path}:{where} YAML syntax error: {problem}; fix the file") from None
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path}: cannot read the config file ({err})") from None


def remove_if_unused(output_dir: Path) -> None:
    """Remove a job folder that holds only what Hydra itself wrote (`.hydra/`, the job's log):
    a start that failed on bad input leaves nothing behind to mistake for a result."""
    if not output_dir.is_dir():
        return
    ours = [p for p in output_dir.iterdir() if p.name != ".hydra" and p.suffix != ".log"]
    if not ours:
        shutil.rmtree(output_dir, ignore_errors=True)


def quiet_lightning() -> None:
    """Lightning's start-up chatter (accelerators found, tips, "seed set", checkpoint defaults) out
    of the console; its warnings stay. After Lightning is imported: its import sets INFO."""
    import logging

    import pytorch_lightning  # noqa: F401 - imported first, so that its own INFO setting comes before ours

    for name in ("pytorch_lightning", "lightning_fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)


register()
# Lightning's own use of a torch API that torch 2.13 deprecates: not the user's to act on.
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def _app(cfg) -> float:
    """One job; returns its max F (a selection job's: on validation), the objective a Hydra
    sweeper (Optuna, ...) maximises."""
    from fcn_ablation.callbacks import build_report
    from fcn_ablation.records import store_dir
    from fcn_ablation.run import run, scores

    quiet_lightning()
    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    group = Path(hc.sweep.dir).name if multirun else None
    output_dir = Path(hc.runtime.output_dir)
    try:
        with exit_on_user_error():
            record = run(cfg, output_dir, group=group)
            if not multirun and cfg.test:  # a multirun reports once, at its end (callbacks.ReportCallback), with a benchmark
                store = store_dir(cfg.paths.results_dir, record["dataset"], record["settings_key"])
                out = build_report(cfg, store, Path(cfg.paths.results_dir), bench=False, to_wandb=False)
                print(f"report: {out / 'report.md'}")
            print(f"job folder: {output_dir}")
            return float(scores(record)["max_f"])
    except SystemExit:
        remove_if_unused(output_dir)
        raise


def start(app) -> None:
    """Every Hydra command's entry: the config files parsed first (one line for a broken one), then `app`."""
    with exit_on_user_error():
        check_config_files()
    app()


def main() -> None:
    start(_app)


if __name__ == "__main__":
    main()
