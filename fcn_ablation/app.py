"""What every Hydra command of the project shares: where its config folder is, a check of that
folder's YAML before Hydra reads it, and the entry that runs a command (`start`).

Every YAML file of `conf/` is parsed once before Hydra composes anything (`check_config_files`):
a syntax error in a user's experiment file is then one line naming the file, line and column,
not the YAML parser's traceback from inside Hydra.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from fcn_ablation.errors import ConfigError, exit_on_user_error

# Lightning's own use of a torch API that torch 2.13 deprecates: not the user's to act on.
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")


def config_dir() -> str:
    """The package's `conf/` (the repository's top-level `conf` is a link to it)."""
    return str(Path(__file__).resolve().parent / "conf")


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


def quiet_lightning() -> None:
    """Lightning's start-up chatter (accelerators found, tips, "seed set", checkpoint defaults) out
    of the console; its warnings stay. After Lightning is imported: its import sets INFO."""
    import logging

    import pytorch_lightning  # noqa: F401 - imported first, so that its own INFO setting comes before ours

    for name in ("pytorch_lightning", "lightning_fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)


def start(app) -> None:
    """Every Hydra command's entry: the config files parsed first (one line for a broken one), then `app`."""
    with exit_on_user_error():
        check_config_files()
    app()
