"""Writing a file so that no reader or concurrent writer ever sees half of it.

Records, split files, the scan cache, the synthetic set's manifest and downloads all end in a
file that another process may read at any moment (a parallel job, a resumed run). Each is
written to a temporary file beside its destination, unique to the writer, and renamed over it:
a rename within one folder is atomic on POSIX file systems (NFS included).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: str | Path, write) -> Path:
    """`write(binary file)` into a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))
