"""Fetch a data set's published archives: resumable, verified, unpacked atomically.

Archives go to `<cache>/downloads/`; an interrupted transfer stays as `NAME.part` and the next
attempt asks the server for the rest (HTTP Range). A finished archive is checked against the
size and SHA-256 in config when they are given, and always against the size the server
announced. Unpacking happens in a temporary folder beside the root that is renamed into place
only when every archive is in, so a data set root is either complete or absent.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import tarfile
import zipfile
from pathlib import Path
from urllib.error import URLError
from urllib.parse import unquote, urlparse
from urllib.request import Request, urlopen

from tqdm.auto import tqdm

from fcn_ablation.errors import DataError
from fcn_ablation.files import atomic_path

COMPLETE = ".download.json"  # written into a root that a download produced
CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def fetch(
    url: str, dest: Path, sha256: str | None = None, size: int | None = None, timeout: float = 60, progress: bool = True
) -> Path:
    """Download `url` to `dest` (resuming `dest.part`); verify; return `dest`."""
    dest = Path(dest)
    if dest.is_file():
        _verify(dest, url, sha256, size, announced=None)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with urlopen(Request(url, headers=headers), timeout=timeout) as resp:
            status = getattr(resp, "status", None)
            if offset and status != 206:  # the server ignored the range: start over
                offset = 0
            announced = _announced_size(resp, offset)
            with (
                open(part, "ab" if offset else "wb") as out,
                tqdm(
                    total=announced,
                    initial=offset,
                    unit="B",
                    unit_scale=True,
                    desc=f"downloading {dest.name}",
                    disable=not progress,
                    leave=False,
                ) as bar,
            ):
                for block in iter(lambda: resp.read(CHUNK), b""):
                    out.write(block)
                    bar.update(len(block))
    except (URLError, OSError, ValueError, http.client.HTTPException) as err:
        kept = f"; {part.stat().st_size} bytes kept in {part}, run again to resume" if part.is_file() else ""
        raise DataError(f"{url}: download failed ({err}){kept}") from err
    got = part.stat().st_size
    if announced is not None and got < announced:  # the connection ended early: keep what came
        raise DataError(
            f"{url}: download interrupted at {got} of {announced} bytes; kept in {part}, run again to resume"
        )
    try:
        _verify(part, url, sha256, size, announced)
    except DataError:
        part.unlink(missing_ok=True)  # a wrong file cannot be resumed into a right one
        raise
    part.replace(dest)
    return dest


def _announced_size(resp, offset: int) -> int | None:
    rng = resp.headers.get("Content-Range")
    if rng and "/" in rng and rng.rsplit("/", 1)[1].isdigit():
        return int(rng.rsplit("/", 1)[1])
    length = resp.headers.get("Content-Length")
    return offset + int(length) if length and length.isdigit() else None


def _verify(path: Path, url: str, sha256: str | None, size: int | None, announced: int | None) -> None:
    actual = path.stat().st_size
    for expected, what in ((size, "dataset.sources size"), (announced, "the size the server announced")):
        if expected is not None and actual != expected:
            raise DataError(
                f"{url}: got {actual} bytes, expected {expected} ({what}); the file was removed, run again to download it anew"
            )
    if sha256 and sha256_of(path) != sha256.lower():
        raise DataError(
            f"{url}: SHA-256 mismatch (expected {sha256}); the file was removed, run again, or correct dataset.sources if the archive was republished"
        )


def archive_name(url: str) -> str:
    name = Path(unquote(urlparse(url).path)).name
    if not name:
        raise DataError(f"{url}: cannot tell an archive name from this URL")
    return name


def unpack(archive: Path, into: Path) -> None:
    """Unpack a zip or tar archive (refusing members that would land outside `into`); an
    archive that unpacks to a single inner archive (DUT-OMRON's `.zip.zip`) is unpacked too."""
    into = Path(into)
    before = set(into.rglob("*"))
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for member in z.namelist():
                    if not (into / member).resolve().is_relative_to(into.resolve()):
                        raise DataError(f"{archive}: member {member!r} would unpack outside the data set folder")
                z.extractall(into)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                t.extractall(into, filter="data")
        else:
            raise DataError(f"{archive}: neither a zip nor a tar archive; delete it and run again")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as err:
        raise DataError(f"{archive}: damaged archive ({err}); delete it and run again") from err
    new = [p for p in set(into.rglob("*")) - before if p.is_file()]
    if len(new) == 1 and (zipfile.is_zipfile(new[0]) or tarfile.is_tarfile(new[0])):
        inner = new[0]
        unpack(inner, inner.parent)
        inner.unlink()


def download_dataset(root: Path, sources, downloads: Path, progress: bool = True) -> Path:
    """Make `root` hold the unpacked `sources`, unless a finished download is already there."""
    root = Path(root)
    if (root / COMPLETE).is_file():
        return root
    if root.exists() and any(root.iterdir()):
        raise DataError(
            f"{root}: exists and is not empty, but holds no finished download; move it away or point dataset.root elsewhere"
        )
    archives = [
        fetch(s.url, Path(downloads) / archive_name(s.url), s.sha256, s.size, progress=progress) for s in sources
    ]
    if root.exists():
        root.rmdir()  # empty, checked above
    with atomic_path(root, folder=True) as tmp:
        for a in archives:
            unpack(a, tmp)
        manifest = [
            {"url": s.url, "file": a.name, "bytes": a.stat().st_size, "sha256": sha256_of(a)}
            for s, a in zip(sources, archives)
        ]
        (tmp / COMPLETE).write_text(json.dumps(manifest, indent=2))
    return root
