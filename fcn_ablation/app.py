"""What every Hydra command of the project shares: where its config folder is, a check of that
folder's YAML before Hydra reads it, and the entry that runs a command (`start`).

Every YAML file of `conf/` is parsed once before Hydra composes anything (`check_config_files`):
a syntax error in a user's experiment file is then one line naming the file, line and column,
not the YAML parser's traceback from inside Hydra.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path

from fcn_ablation.errors import ConfigError, UserError, exit_on_user_error

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


def hydra_error(err: BaseException) -> ConfigError:
    """One line for a failure Hydra or OmegaConf reports while composing (an unknown group option,
    a value of the wrong type, a key the schema lacks, a bad override): its first line, with what
    the cause adds and the options Hydra lists, all on that line. A `UserError` anywhere in the
    chain (our resolvers and checks) is kept as it is."""
    chain, cur = [], err
    while cur is not None and cur not in chain:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    for e in chain:
        if isinstance(e, UserError):
            return e if isinstance(e, ConfigError) else ConfigError(str(e))
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    text = lines[0] if lines else type(err).__name__
    if getattr(err, "override", None) and str(err.override) not in text:  # a malformed override: name it
        text = f"{err.override}: {text}"
    if any(line.startswith("Available options") for line in lines):
        start = next(i for i, line in enumerate(lines) if line.startswith("Available options"))
        options = []
        for line in lines[start + 1 :]:
            if line.endswith(":"):  # "Config search path:" and the providers after it
                break
            options.append(line)
        text += f"; {lines[start].rstrip(':').lower()}: {', '.join(options)}"
    elif len(lines) > 1 and lines[1].startswith("To "):
        text += f" ({lines[1]})"
    cause = err.__cause__
    if cause is not None:
        first = next((line.strip() for line in str(cause).splitlines() if line.strip()), "")
        if first and first not in text:
            text += f": {first}"
    return ConfigError(f"{text} (--help lists the groups and options)")


@contextlib.contextmanager
def _hydra_errors():
    """Hydra's composition errors as our one `error:` line: Hydra is asked to raise them
    (`HYDRA_FULL_ERROR`, restored afterwards) instead of printing its own multi-line report."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    before = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    except (HydraException, OmegaConfBaseException) as err:
        raise hydra_error(err) from None
    finally:
        if before is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = before


def start(app) -> None:
    """Every Hydra command's entry: the config files parsed first (the package's and those of any
    `hydra.searchpath` on the command line: one line for a broken one), then `app`, whose Hydra
    errors, full disk and Ctrl-C end in one line too (`errors.exit_on_user_error`)."""
    with exit_on_user_error():
        check_config_files()
        for folder in search_path_dirs(sys.argv[1:]):
            check_config_files(folder)
        with _hydra_errors():
            app()
