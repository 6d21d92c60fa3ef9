"""Validate every pair of a data set once, before training, and remember the verdicts.

A damaged file must stop a run at start-up with its name, not crash it in epoch 3. The scan
decodes every image and mask with the loader's own decoder (`pairs.read_pair`), so a pair the
scan passes is one the loader reads. Verdicts are cached per pair, keyed by each file's size,
modification time, inode and status-change time: a later run re-reads only what changed. The
last two cost nothing to read and cannot be set back by a program (`touch -d`, `os.utime`, a
copy that keeps times), so a file rewritten with its old size and time is read again.

A mask with no salient pixel, or nothing else, is legal (the metrics handle both), but a user
must know: the verdict records it, and the data module counts and lists such masks.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from fcn_ablation.data.pairs import DEFAULT_MASK_THRESHOLD, BadPair, Pair, read_pair
from fcn_ablation.files import atomic_write_text

SCAN_VERSION = 3  # bump when the decoding rules change: old verdicts are then ignored


@dataclass
class ScanResult:
    good: list[Pair]
    bad: list[dict] = field(default_factory=list)  # {"stem", "file", "problem"}
    rescanned: int = 0  # pairs decoded this time (the rest came from the cache)
    empty_masks: list[str] = field(default_factory=list)  # stems of good pairs whose mask has no salient pixel
    full_masks: list[str] = field(default_factory=list)  # ... whose mask is salient everywhere


def cache_file(
    cache_dir: str | Path, images: Path, masks: Path, mask_threshold: float = DEFAULT_MASK_THRESHOLD
) -> Path:
    """One cache per folder pair and mask threshold (a mask's coverage depends on how it is read)."""
    where = f"{Path(images).resolve()}\n{Path(masks).resolve()}\nthreshold={float(mask_threshold)!r}"
    key = hashlib.sha256(where.encode()).hexdigest()[:16]
    return Path(cache_dir) / "scans" / f"{key}.json"


def _stat(path: Path) -> list:
    st = path.stat()
    return [path.name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _check(pair: Pair) -> dict:
    try:
        stats = {"image": _stat(pair.image), "mask": _stat(pair.mask)}
    except OSError as err:
        return {"problem": f"cannot stat ({err})", "file": str(pair.image)}
    try:
        _, mask = read_pair(pair)
        coverage = "empty" if not mask.any() else "full" if mask.all() else None
        return {**stats, "problem": None, "file": None, "coverage": coverage}
    except BadPair as err:
        return {**stats, "problem": err.problem, "file": str(err.file)}


def scan_pairs(
    pairs: list[Pair], cache_path: Path | None = None, workers: int = 2, progress: bool = True
) -> ScanResult:
    """Verdict on every pair, re-using cached ones whose files have not changed."""
    cached = _load(cache_path)
    verdicts: dict[str, dict] = {}
    todo = []
    for pair in pairs:
        old = cached.get(pair.stem)
        try:
            fresh = old is not None and old.get("image") == _stat(pair.image) and old.get("mask") == _stat(pair.mask)
        except OSError:
            fresh = False
        if fresh:
            verdicts[pair.stem] = old
        else:
            todo.append(pair)
    if todo:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            results = pool.map(_check, todo)
            for pair, verdict in tqdm(
                zip(todo, results), total=len(todo), desc="checking image/mask pairs", disable=not progress, leave=False
            ):
                verdicts[pair.stem] = verdict
        _save(cache_path, {**cached, **verdicts})
    good = [p for p in pairs if verdicts[p.stem]["problem"] is None]
    bad = [
        {"stem": p.stem, "file": verdicts[p.stem]["file"], "problem": verdicts[p.stem]["problem"]}
        for p in pairs
        if verdicts[p.stem]["problem"] is not None
    ]
    coverage = {p.stem: verdicts[p.stem].get("coverage") for p in good}
    return ScanResult(
        good,
        bad,
        len(todo),
        [s for s, c in coverage.items() if c == "empty"],
        [s for s, c in coverage.items() if c == "full"],
    )


def _load(path: Path | None) -> dict:
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # a damaged cache is only a cache: scan again
    return data.get("pairs", {}) if data.get("version") == SCAN_VERSION else {}


def _save(path: Path | None, verdicts: dict) -> None:
    if path is not None:
        atomic_write_text(path, json.dumps({"version": SCAN_VERSION, "pairs": verdicts}))
