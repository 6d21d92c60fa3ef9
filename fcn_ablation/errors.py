"""Errors a user can fix: they carry a one-line message naming the setting or file at fault."""

from __future__ import annotations

import contextlib
import logging
import sys


class UserError(Exception):
    """Bad input from the user; the CLI prints the message alone and exits with status 2.

    Raised in a DataLoader worker, it reaches the main process rebuilt by PyTorch from one
    string, "Caught DataError in DataLoader worker process N. Original Traceback ...": the
    constructor keeps the original message alone, so the error reads the same in any process."""

    def __init__(self, message: object = "", *args) -> None:
        super().__init__(_original_message(str(message)), *args)


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


def _original_message(message: str) -> str:
    """The message of an exception re-raised from a worker process's formatted traceback."""
    if not (message.startswith("Caught ") and "Original Traceback" in message):
        return message
    last = [line for line in message.splitlines() if line.strip()][-1]
    name, sep, rest = last.partition(": ")
    return rest if sep and name.replace(".", "").replace("_", "").isalnum() else last
