"""Errors a user can fix: they carry a one-line message naming the setting or file at fault."""

from __future__ import annotations

import contextlib
import errno
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


class DiskFull(UserError):
    """The disk (or the user's quota) filled while writing a file; the rerun resumes once space is freed."""


class Diverged(UserError):
    """Training produced a non-finite loss or weights: a finding about the settings (learning rate,
    precision), never a score; nothing is filed."""


class Interrupted(Exception):
    """Ctrl-C (SIGINT): the program ends with status 130, as a shell reports an interrupted
    command, after one `interrupted:` line saying what was saved."""


class JobTerminated(Exception):
    """The job was sent SIGTERM (a time-out, a pre-emption, `docker stop`): it ends with status
    143, as a process killed by SIGTERM does, after one `terminated:` line."""


def is_disk_full(err: BaseException) -> bool:
    """Whether an error is a full disk: `ENOSPC`/`EDQUOT`, or an error of another type (a wrapped
    one, a RuntimeError) whose message says so."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(err)
    return "No space left on device" in text or "Disk quota exceeded" in text


def disk_full(path, err: BaseException) -> DiskFull:
    return DiskFull(
        f"no space left on device while writing {path}; free space and rerun the same command to resume "
        f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else err.__class__.__name__})"
    )


def why_unreadable(err: BaseException, limit: int = 200) -> str:
    """Why `torch.load` (or any reader) refused a file, in one short line: a file holding objects
    other than tensors and plain values is named as such (`weights_only=True` refused to build
    them), never with torch's paragraph of advice to load it anyway."""
    import pickle

    if isinstance(err, pickle.UnpicklingError):
        return (
            "it holds objects other than tensors and plain values (a crafted or another program's file); never loaded"
        )
    first = next((line for line in str(err).splitlines() if line.strip()), "")
    return f"{type(err).__name__}: {first[:limit]}"


_WARNED: set[str] = set()


def warn_once(message: str, log: logging.Logger | None = None, about: str | None = None) -> None:
    """A warning about one file, once per command: a report reads a store several times (tables,
    curves, map grids), and one bad file is still one line. `about`: what makes two warnings one
    (the file's own error, said by different readers); the message itself by default."""
    key = about if about is not None else message
    if key not in _WARNED:
        _WARNED.add(key)
        (log or logging.getLogger("fcn_ablation")).warning(message)


@contextlib.contextmanager
def exit_on_user_error():
    """Every command line's contract: a `UserError` ends the program with one `error:` line on
    stderr and exit status 2, a `JobTerminated` with one `terminated:` line and status 143, Ctrl-C
    with one `interrupted:` line and status 130; never a traceback. A full disk met anywhere (an
    `OSError` no helper of ours caught: Hydra's, a logger's) is one `error:` line too."""
    _WARNED.clear()  # a new command: its warnings are its own
    try:
        yield
    except BrokenPipeError:  # the reader went away (`--help | head`): nothing left to say, and no traceback
        import os

        try:  # Python would report the pipe again when it flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is no file (captured)
            pass
        sys.exit(1)
    except KeyboardInterrupt:
        _interrupted(
            "Ctrl-C; nothing half-written was kept: rerun the same command to resume (finished jobs are skipped)"
        )
    except Interrupted as err:
        _interrupted(str(err))
    except (OSError, RuntimeError) as err:
        if not is_disk_full(err):
            raise
        err = disk_full(getattr(err, "filename", None) or "a file", err)
        log_to_files(f"error: {err}")
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except UserError as err:
        log_to_files(f"error: {err}")
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except JobTerminated as err:
        log_to_files(f"terminated: {err}")
        print(f"terminated: {err}", file=sys.stderr)
        sys.exit(143)


def log_to_files(message: str) -> None:
    """A line into the job's log file (Hydra's `<job>.log`), not the console: a closing line the
    console gets once on stderr, or a job's own ending that the end of its sweep reports."""
    logger = logging.getLogger("fcn_ablation")
    record = logger.makeRecord(logger.name, logging.ERROR, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def _interrupted(message: str) -> None:
    log_to_files(f"interrupted: {message}")
    print(f"interrupted: {message}", file=sys.stderr)
    sys.exit(130)


def _original_message(message: str) -> str:
    """The message of an exception re-raised from a worker process's formatted traceback."""
    if not (message.startswith("Caught ") and "Original Traceback" in message):
        return message
    last = [line for line in message.splitlines() if line.strip()][-1]
    name, sep, rest = last.partition(": ")
    return rest if sep and name.replace(".", "").replace("_", "").isalnum() else last
