"""Errors a user can fix: they carry a one-line message naming the setting or file at fault."""

from __future__ import annotations

import contextlib
import logging
import sys


class UserError(Exception):
    """Bad input from the user; the CLI prints the message alone and exits with status 2."""


class ConfigError(UserError):
    """A configuration value is invalid."""


class DataError(UserError):
    """A data file or directory is missing or unreadable."""


@contextlib.contextmanager
def exit_on_user_error():
    """Every command line's contract: a `UserError` ends the program with one `error:` line on
    stderr and exit status 2, never a traceback."""
    try:
        yield
    except UserError as err:
        logging.getLogger("fcn_ablation").error("%s", err)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
