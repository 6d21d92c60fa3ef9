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


class JobTerminated(Exception):
    """The job was sent SIGTERM (a time-out, a pre-emption, `docker stop`): it ends with status
    143, as a process killed by SIGTERM does, after one `terminated:` line."""


@contextlib.contextmanager
def exit_on_user_error():
    """Every command line's contract: a `UserError` ends the program with one `error:` line on
    stderr and exit status 2, a `JobTerminated` with one `terminated:` line and status 143; never
    a traceback."""
    try:
        yield
    except UserError as err:
        logging.getLogger("fcn_ablation").error("%s", err)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except JobTerminated as err:
        logging.getLogger("fcn_ablation").error("terminated: %s", err)
        print(f"terminated: {err}", file=sys.stderr)
        sys.exit(143)
