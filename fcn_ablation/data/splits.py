"""Deterministic train/val/test splits, written once to text files and reused afterwards.

The split files, not the seed, are the source of truth: a later run reads them back, so two
runs on "the same" test set provably are (their hash goes into every result record). A pair
is never moved to another split unless the files are deleted.

A data set that grew after its split files were written (pairs added, or a copy still running
when the first run wrote them) has pairs in no split. That stops the run unless the user says
what to do (`dataset.split.new_pairs`): `add` files each new pair into a split by a hash of its
name and the split seed (so the order of arrival does not matter and no old pair moves), and
`ignore` trains without them, saying so on every run.

One name per line. A name a line cannot hold as it is (a newline, a backslash, a leading or
trailing space, a leading quote) is written as a JSON string; every other line is the name
itself, so split files from before this rule read the same.
"""

from __future__ import annotations

import hashlib
import json
import random
from enum import Enum
from pathlib import Path

from fcn_ablation.errors import ConfigError, DataError
from fcn_ablation.files import atomic_write_text


class NewPairs(str, Enum):
    """What a run does with pairs found in no split file (the data set grew after the files were
    written): `dataset.split.new_pairs`."""

    error = "error"  # stop, naming how many pairs are in no split and the choices
    add = "add"  # file each into a split by a hash of its name (no existing pair moves)
    ignore = "ignore"  # train and test without them, with a warning on every run


SPLITS = ("train", "val", "test")
LISTED = 5  # names quoted in a message


def split_dir(root: Path, fractions: tuple[float, float, float], seed: int) -> Path:
    tag = "-".join(f"{round(f * 100)}" for f in fractions)
    return Path(root) / "splits" / f"{tag}-seed{seed}"


def check_fractions(fractions) -> None:
    """Train, val and test fractions: each non-negative, summing to 1."""
    if any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ConfigError(
            f"dataset.split: train/val/test = {'/'.join(f'{f:g}' for f in fractions)} must be >= 0 and sum to 1"
        )


def make_splits(stems: list[str], fractions: tuple[float, float, float], seed: int) -> dict[str, list[str]]:
    check_fractions(fractions)
    order = sorted(stems)
    random.Random(seed).shuffle(order)
    n_train = round(fractions[0] * len(order))
    n_val = round(fractions[1] * len(order))
    return {"train": order[:n_train], "val": order[n_train : n_train + n_val], "test": order[n_train + n_val :]}


def hashed_split(stem: str, fractions, seed: int) -> str:
    """The split a pair added later joins: a uniform draw from a hash of (seed, name)."""
    u = int.from_bytes(hashlib.sha256(f"{seed}\n{stem}".encode()).digest()[:8], "big") / 2**64
    return "train" if u < fractions[0] else "val" if u < fractions[0] + fractions[1] else "test"


def _line(name: str) -> str:
    plain = name and name == name.strip() and not name.startswith('"') and not any(c in name for c in "\n\r\\")
    return name if plain else json.dumps(name)


def write_names(path: Path, names: list[str]) -> None:
    atomic_write_text(path, "".join(f"{_line(n)}\n" for n in names))


def read_names(path: Path) -> list[str]:
    """The names of one split file, in order (see the module's docstring for the format)."""
    names = []
    for line in Path(path).read_text(encoding="utf-8").split("\n"):
        line = line.strip()
        if line.startswith('"'):
            try:
                line = json.loads(line)
            except ValueError:
                pass  # an old file's name that begins with a quote
        if line:
            names.append(line)
    return names


def load_or_write_splits(
    directory: Path, stems: list[str], fractions, seed: int, new_pairs: NewPairs | str = NewPairs.error
) -> tuple[dict[str, list[str]], list[str]]:
    """The splits in `directory` (written first if absent), and the stems in none of them.

    Fails when the files name stems not in the data set, and when stems are in no split and
    `new_pairs` is `error`."""
    directory = Path(directory)
    files = {name: directory / f"{name}.txt" for name in SPLITS}
    if not all(f.is_file() for f in files.values()):
        directory.mkdir(parents=True, exist_ok=True)
        for name, members in make_splits(stems, tuple(fractions), seed).items():
            write_names(files[name], members)
    splits = {name: read_names(f) for name, f in files.items()}
    known = set(stems)
    unknown = [s for members in splits.values() for s in members if s not in known]
    if unknown:
        raise DataError(
            f"{directory}: split files name {len(unknown)} images not in the data set (e.g. {unknown[0]!r}); "
            "restore them, or delete the folder to split the data set afresh"
        )
    placed = {s for members in splits.values() for s in members}
    outside = [s for s in stems if s not in placed]
    policy = NewPairs(new_pairs)
    if outside and policy is NewPairs.error:
        raise DataError(
            f"{directory}: {len(outside)} of {len(stems)} pairs are in no split file ({_some(outside)}): the data set "
            f"grew after the splits were written (was a copy still running?). Pass dataset.split.new_pairs=add to file "
            f"them into splits (no pair moves), =ignore to leave them out, or delete the folder to split afresh"
        )
    if outside and policy is NewPairs.add:
        for stem in outside:
            splits[hashed_split(stem, fractions, seed)].append(stem)
        for name, f in files.items():
            write_names(f, splits[name])
        outside = []
    return splits, outside


def _some(names: list[str]) -> str:
    more = f" and {len(names) - LISTED} more" if len(names) > LISTED else ""
    return ", ".join(repr(n) for n in names[:LISTED]) + more


def splits_hash(directory: Path) -> str:
    """SHA-256 (first 16 hex digits) over the three split files, in order (part of a table's key).

    A split is one seed's permutation cut in three, so this bare concatenation is the same for every
    fraction of one seed: 70/10/20 and test-only hash alike. A table's key holds the fractions too
    (they are settings), so no two tables share a key that way; where results on a test set are
    compared (the same test or not), `split_id` tells them apart."""
    h = hashlib.sha256()
    for name in SPLITS:
        h.update((Path(directory) / f"{name}.txt").read_bytes())
    return h.hexdigest()[:16]


def split_id(summary: dict) -> str | None:
    """Which test a data summary's split is: its hash and its folder's name (fractions and seed,
    `70-10-20-seed0`), since the hash alone is the same for every fraction of one seed."""
    split_hash, folder = summary.get("split_hash"), summary.get("split_dir")
    if split_hash is None:
        return None
    return f"{split_hash}:{Path(folder).name}" if folder else str(split_hash)
