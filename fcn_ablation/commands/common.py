"""What every command shares: its entry (`start`: the config files checked, then the Hydra app,
whose errors, a full disk and Ctrl-C end in one line) and Lightning's start-up chatter silenced.

Every YAML file of `conf/` (and of a command line's `hydra.searchpath`) is parsed once before Hydra
composes anything (`config.folder.check_config_files`): a syntax error in a user's experiment file
is then one line naming the file, line and column, not the YAML parser's traceback from inside Hydra.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

import fcn_ablation.config.schema  # noqa: F401 - importing it registers the schemas, in every process that composes
from fcn_ablation.config.folder import check_config_files, search_path_dirs
from fcn_ablation.errors import ConfigError, UserError, exit_on_user_error

# Lightning's own use of a torch API that torch 2.13 deprecates: not the user's to act on.
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")


def quiet_lightning() -> None:
    """Lightning's start-up chatter (accelerators found, tips, "seed set", checkpoint defaults) out
    of the console; its warnings stay. After Lightning is imported: its import sets INFO."""
    import logging

    import pytorch_lightning  # noqa: F401 - imported first, so that its own INFO setting comes before ours

    for name in ("pytorch_lightning", "lightning_fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)


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
    return ConfigError(f"{text}{_quote_hint(err, text)} (--help lists the groups and options)")


# Characters Hydra's override grammar gives a meaning to, or does not take unquoted in a value.
OVERRIDE_SPECIAL = set(" \t()[]{},:='\"#!&;|*?<>@")


def _quote_hint(err: BaseException, text: str) -> str:
    """For an override Hydra could not parse whose value holds a space or one of the characters
    its grammar reads (a path with a space, `#`, `!`, ...): how to quote it."""
    from hydra.errors import OverrideParseException

    if not (isinstance(err, OverrideParseException) or "Lexer" in text or "mismatched input" in text):
        return ""
    override = str(getattr(err, "override", "") or "") or next((a for a in sys.argv[1:] if a in text and "=" in a), "")
    key, eq, value = override.partition("=")
    if not eq or not OVERRIDE_SPECIAL & set(value) or value[:1] in "'\"":
        return ""
    return f"; quote a value with spaces or any of ()[]{{}},:='\"#!&;| as Hydra reads it: \"{key}='{value}'\""


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
