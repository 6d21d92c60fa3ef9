"""A job's lock: one process at a time per job identity.

A job holds a file lock named after it (`results_layout.lock_file`) in its table's store while it
runs, so two launches of one job (a rerun while the first still trains, two sweeps that share
rows) never both train it: the second waits, then finds the record and skips.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from fcn_ablation import results_layout

log = logging.getLogger(__name__)


@contextlib.contextmanager
def job_lock(store: Path, name: str):
    """Hold the lock of job `name` in `store` (waiting for another process that holds it)."""
    from filelock import FileLock

    path = results_layout.lock_file(store, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Exception:  # filelock.Timeout: another process runs this job
        log.info("%s: another process is running this job; waiting for it (lock %s)", name, path)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
