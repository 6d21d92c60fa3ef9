"""Writing a file or a folder so that no reader or concurrent writer ever sees half of it, and no
crash or power cut leaves a truncated file under a final name.

Records, split files, the scan cache, checkpoints, `model.pt`, the synthetic data set and unpacked
downloads all end in something another process may read at any moment (a parallel job, a resumed
run). Each is written under a temporary name beside its destination, unique to the writer,
flushed to the disk (`fsync`), and renamed over it; the folder is flushed after the rename. A
rename within one folder is atomic on POSIX file systems (NFS included). The one helper is
`atomic_path`; the others are its uses.

Files are created with the permissions `open()` would give (0666 less the umask, folders 0777 less
the umask), not `mkstemp`'s private 0600: a results folder on a group's shared storage stays
readable by the group. A full disk is one line (`DiskFull`), and the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

from fcn_ablation.errors import DataError, disk_full, is_disk_full


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    """Flush a file, or a folder's entries, to the disk (best effort where the file system refuses)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise
    finally:
        os.close(fd)


def _flush_tree(folder: Path) -> None:
    for root, _, names in os.walk(folder):
        for name in names:
            _fsync(Path(root) / name)
        _fsync(Path(root))


def _looks_like_a_full_disk(err: BaseException, folder: Path) -> bool:
    """`is_disk_full`, or torch's archive writer failing (`inline_container.cc`: it reports a short
    write as a position mismatch) where the folder's disk is nearly full."""
    if is_disk_full(err):
        return True
    if isinstance(err, RuntimeError) and "inline_container" in str(err):
        try:
            return shutil.disk_usage(folder).free < 64 * 2**20
        except OSError:
            return False
    return False


# Who writes a temporary file, in its name (`.<name>.@<host>@<pid>@<random>.tmp`): the next write
# of the same file removes the temporaries of writers that are gone (`remove_stale_temporaries`).
_HOST = socket.gethostname().replace("@", "_")
_TEMPORARY = re.compile(r"\.@(?P<host>[^@]*)@(?P<pid>\d+)@[^.]*\.tmp$")
# A temporary of another machine (or of a version that did not name its writer) is stale after this
# long: no write of one file takes a day.
STALE_AFTER_S = 24 * 3600


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it exists
        return True
    return True


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove what killed writes of `path` left beside it: temporaries of a writer on this machine
    that no longer runs, and any older than `STALE_AFTER_S` (another machine's, or unnamed); a
    writer still at work keeps its own. Called by every write of `path`, so a kill during a report
    leaves nothing the rerun does not clear."""
    import glob
    import time

    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        m = _TEMPORARY.search(tmp.name[len(path.name) + 1 :])
        try:
            if m and m["host"] == _HOST:
                stale = not _alive(int(m["pid"]))
            else:
                stale = time.time() - tmp.lstat().st_mtime > STALE_AFTER_S
        except OSError:  # gone meanwhile
            continue
        if stale:
            shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | Path, folder: bool = False, keep_existing: bool = False):
    """A temporary path beside `path` (an empty folder when `folder`) to fill; flushed and renamed
    over `path` when the block ends without an error, removed otherwise. `keep_existing`: a folder
    another writer finished first is kept, and ours dropped."""
    path = Path(path)
    mask = _umask()
    prefix = f".{path.name}.@{_HOST}@{os.getpid()}@"  # the pid now: a forked loader worker is a writer of its own
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        if folder:
            tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=prefix, suffix=".tmp"))
            os.chmod(tmp, 0o777 & ~mask)
        else:
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
            os.close(fd)
            tmp = Path(name)
            os.chmod(tmp, 0o666 & ~mask)
    except OSError as err:
        if is_disk_full(err):
            raise disk_full(path, err) from None
        if not isinstance(err, PermissionError) and err.errno != errno.EROFS:
            raise
        raise DataError(
            f"{path}: cannot write it ({err.strerror or err}); its folder is read-only to you (a shared or mounted "
            "folder): make it writable, or point the setting that chose it elsewhere"
        ) from None
    try:
        try:
            yield tmp
            _flush_tree(tmp) if folder else _fsync(tmp)
        except Exception as err:
            if _looks_like_a_full_disk(err, path.parent):
                raise disk_full(path, err) from None
            raise
        try:
            os.replace(tmp, path)
        except OSError:  # a folder over a non-empty folder: another writer was first
            if not (keep_existing and path.is_dir()):
                raise
        _fsync(path.parent)
    finally:
        if folder:
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


def atomic_torch_save(obj, path: str | Path) -> Path:
    """`torch.save(obj)` through `atomic_write`: a kill or a full disk never leaves a cut-short
    `model.pt` or checkpoint under its final name (a trap for `init=checkpoint` and resuming)."""
    import torch

    return atomic_write(path, lambda f: torch.save(obj, f))


def check_writable(folder: str | Path, setting: str, hint: str = "") -> Path:
    """`folder` can be written to, or created: checked before any work by writing (and removing) a
    probe file in it or in its nearest existing ancestor, so nothing is left behind. A read-only or
    uncreatable folder (a path under a regular file, say) is one line naming it and the `setting`
    that chose it."""
    from fcn_ablation.errors import ConfigError

    folder = Path(folder)
    why = why_not_writable(folder)
    if why is not None:
        raise ConfigError(
            f"{setting}={folder}: cannot create or write this folder ({why}); choose a writable folder with {setting}=DIR{hint}"
        )
    return folder


def why_not_writable(folder: str | Path) -> str | None:
    """Why `folder` cannot be written to or created (`Permission denied at /a`), or None where it
    can: a probe file is written (and removed) in it or in its nearest existing ancestor, so
    nothing is left behind. A full disk is its own one-line error."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "a file, not a folder", str(existing))
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".write-check.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        if is_disk_full(err):
            raise disk_full(folder, err) from None
        return f"{err.strerror or err}{f' at {existing}' if existing != folder else ''}"
    return None


def write_csv(df, path: str | Path, **kwargs) -> Path:
    """A pandas frame as CSV, atomically (`to_csv`'s own arguments pass through; no index by default)."""
    kwargs.setdefault("index", False)
    return atomic_write_text(path, df.to_csv(**kwargs))


def pyplot():
    """matplotlib's `pyplot` on the Agg backend: figures are written to files, never shown, so no
    display is needed (a cluster node, CI). The one place that chooses the backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path, **kwargs) -> Path:
    """A matplotlib figure, atomically, in the format its suffix names (a PDF without its creation
    date: the same figure is the same file, so a regenerated report can be compared byte for byte)."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    if fmt == "pdf":
        kwargs.setdefault("metadata", {"CreationDate": None, "ModDate": None})
    return atomic_write(path, lambda f: fig.savefig(f, format=fmt, **kwargs))


def save_yaml(cfg, path: str | Path) -> Path:
    """An OmegaConf config as YAML, atomically."""
    from omegaconf import OmegaConf

    return atomic_write_text(path, OmegaConf.to_yaml(cfg))


def checked_results_dir(value: str, *under: str, setting: str = "paths.results_dir") -> str:
    """`paths.results_dir` as Hydra's job folders use it (the `fcn.results_dir` resolver of the
    configs' `hydra.run.dir` and `hydra.sweep.dir`), checked before Hydra creates anything: empty
    is refused (it would put job folders at `/runs`), and the folder must be creatable and
    writable, and so must each folder `under` it that Hydra or the job writes in (`runs`,
    `multiruns`, `store`): in a group's folder, a `runs/` made by a colleague with umask 022 is not. A
    relative folder is under the one the command was started from (Hydra does not change folders:
    `hydra.job.chdir=false`)."""
    from fcn_ablation.errors import ConfigError

    if not str(value).strip():
        raise ConfigError(f"{setting} is empty; set it to a folder (default: results, under the current folder)")
    check_writable(value, setting)
    for sub in under:
        check_writable(
            Path(value) / sub, setting, f" (its {sub}/ is someone else's: ask them to make it group-writable)"
        )
    if not Path(value).exists():  # Hydra is about to make it: `remove_unused` may take it away again
        NEW_RESULTS_DIRS.add(Path(value).resolve())
    return str(value)


# Results folders that did not exist when this command first checked them (Hydra made them).
NEW_RESULTS_DIRS: set[Path] = set()

# What Hydra writes in a job or sweep folder before our code runs: a folder holding nothing else
# holds no result.
HYDRA_FILES = (".hydra", "multirun.yaml")


def remove_unused(output_dir: str | Path, results_dir: str | Path) -> None:
    """Remove a job folder that holds only what Hydra wrote (`HYDRA_FILES`, the job's log), then
    each folder above it, up to the results folder, that holds nothing else either (`runs/`, a
    sweep's folder), and the results folder itself where this command made it: a start that failed
    on bad input leaves nothing behind to mistake for a result."""
    import shutil

    root = Path(results_dir).resolve()
    folder = Path(output_dir).resolve()
    while folder.is_relative_to(root) and folder.is_dir():
        if any(p.name not in HYDRA_FILES and p.suffix != ".log" for p in folder.iterdir()):
            return
        if folder == root and root not in NEW_RESULTS_DIRS:
            return
        shutil.rmtree(folder, ignore_errors=True)
        if folder == root:
            return
        folder = folder.parent
