"""Writing a file or a folder so that no reader or concurrent writer ever sees half of it.

Records, split files, the scan cache, checkpoints, the synthetic data set and unpacked downloads
all end in something another process may read at any moment (a parallel job, a resumed run).
Each is written under a temporary name beside its destination, unique to the writer, and renamed
over it: a rename within one folder is atomic on POSIX file systems (NFS included). The one
helper is `atomic_path`; the others are its uses.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path, folder: bool = False, keep_existing: bool = False):
    """A temporary path beside `path` (an empty folder when `folder`) to fill; renamed over `path`
    when the block ends without an error, removed otherwise. `keep_existing`: a folder another
    writer finished first is kept, and ours dropped."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if folder:
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    else:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        try:
            os.replace(tmp, path)
        except OSError:  # a folder over a non-empty folder: another writer was first
            if not (keep_existing and path.is_dir()):
                raise
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def atomic_write(path: str | Path, write) -> Path:
    """`write(binary file)` into a temporary file beside `path`, then rename it over `path`."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        write(f)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))
