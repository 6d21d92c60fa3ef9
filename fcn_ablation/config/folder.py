"""What every Hydra command of the project shares: where its config folder is, a check of that
folder's YAML before Hydra reads it, and the entry that runs a command (`start`).

Every YAML file of `conf/` is parsed once before Hydra composes anything (`check_config_files`):
a syntax error in a user's experiment file is then one line naming the file, line and column,
not the YAML parser's traceback from inside Hydra.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from fcn_ablation.errors import ConfigError

# Lightning's own use of a torch API that torch 2.13 deprecates: not the user's to act on.
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")


def config_dir() -> str:
    """The package's `conf/` (the repository's top-level `conf` is a link to it)."""
    return str(Path(__file__).resolve().parents[1] / "conf")


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


def search_path_dirs(args: list[str]) -> list[Path]:
    """The folders a command line adds to Hydra's config search path (`hydra.searchpath=[...]`,
    `file://` or plain paths; `pkg://` entries are packages, checked by their authors)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    found = []
    for arg in args:
        if arg.startswith("-") or "hydra.searchpath" not in arg.split("=", 1)[0]:
            continue
        try:
            value = OverridesParser.create().parse_override(arg).value()
        except Exception:  # noqa: BLE001 - a malformed override: Hydra's own error says so
            continue
        for entry in value if isinstance(value, list) else [value]:
            entry = str(entry)
            if entry.startswith("pkg://"):
                continue
            folder = Path(entry.removeprefix("file://")).expanduser()
            if folder.is_dir():
                found.append(folder)
    return found
