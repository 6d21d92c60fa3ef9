"""Deterministic train/val/test splits, written once to text files and reused afterwards.

The split files, not the seed, are the source of truth: a later run reads them back, so two
runs on "the same" test set provably are (their hash goes into every result record).
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from fcn_ablation.errors import ConfigError, DataError

SPLITS = ("train", "val", "test")


def split_dir(root: Path, fractions: tuple[float, float, float], seed: int) -> Path:
    tag = "-".join(f"{round(f * 100)}" for f in fractions)
    return Path(root) / "splits" / f"{tag}-seed{seed}"


def make_splits(stems: list[str], fractions: tuple[float, float, float], seed: int) -> dict[str, list[str]]:
    if any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ConfigError(f"dataset.split: fractions {list(fractions)} must be non-negative and sum to 1")
    order = sorted(stems)
    random.Random(seed).shuffle(order)
    n_train = round(fractions[0] * len(order))
    n_val = round(fractions[1] * len(order))
    return {"train": order[:n_train], "val": order[n_train : n_train + n_val], "test": order[n_train + n_val :]}


def load_or_write_splits(directory: Path, stems: list[str], fractions, seed: int) -> dict[str, list[str]]:
    """Read the split files in `directory`, or write them; fail if they name unknown stems."""
    directory = Path(directory)
    files = {name: directory / f"{name}.txt" for name in SPLITS}
    if not all(f.is_file() for f in files.values()):
        directory.mkdir(parents=True, exist_ok=True)
        for name, members in make_splits(stems, tuple(fractions), seed).items():
            tmp = files[name].with_suffix(".tmp")
            tmp.write_text("".join(f"{s}\n" for s in members))
            tmp.replace(files[name])
    splits = {name: f.read_text().split() for name, f in files.items()}
    unknown = [s for members in splits.values() for s in members if s not in set(stems)]
    if unknown:
        raise DataError(f"{directory}: split files name {len(unknown)} images not in the data set (e.g. {unknown[0]!r}); delete the folder to rewrite them")
    return splits


def splits_hash(directory: Path) -> str:
    """SHA-256 (first 16 hex digits) over the three split files, in order."""
    h = hashlib.sha256()
    for name in SPLITS:
        h.update((Path(directory) / f"{name}.txt").read_bytes())
    return h.hexdigest()[:16]
