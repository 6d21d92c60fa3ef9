"""Saliency maps as files, the community's currency: written as 8-bit greyscale PNGs, one per
test image, at the image's own size, in the layout PySODEvalToolkit, SALOD and the MATLAB
toolboxes read (`<maps root>/<method>/<set>/<image stem>.png`, `results_layout.maps_dir`); and
read back, ours or any other method's, and scored against a set's masks with the metrics a
trained network is scored with (`SaliencyMetrics`), so that a published method's maps stand in
the same table and curves as our rows.

A folder of maps is checked against the test images before it is scored: a missing map is an
error (a method scored on fewer images is not the same test), extra files are left out, and a map
of another size than its mask is resized to it (bilinear, as PySODEvalToolkit does), each kind
in one line naming the files.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from fcn_ablation.data.pairs import Pair, decode_mask
from fcn_ablation.errors import DataError, why_unreadable
from fcn_ablation.evaluation.metrics import SaliencyMetrics, stored_arrays
from fcn_ablation.files import atomic_write

log = logging.getLogger(__name__)

MAP_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")  # what other tools save maps as; ours are PNG


def method_name(experiment: str, init: str, seed: int | None = None) -> str:
    """A method's folder name for one of our rows (`fcn8s-a-scratch-seed0`): its row and seed, in
    characters every file system and LaTeX take."""
    parts = ["fcn8s", experiment, init] + ([f"seed{seed}"] if seed is not None else [])
    return re.sub(r"[^A-Za-z0-9_.]+", "-", "-".join(parts)).strip("-")


def as_8bit(saliency) -> np.ndarray:
    """A map in [0, 1] (tensor or array) as the uint8 a saved PNG holds: round(255 x value)."""
    if isinstance(saliency, torch.Tensor):
        saliency = saliency.detach().float().cpu().numpy()
    return np.clip(np.round(np.asarray(saliency, dtype=np.float64) * 255), 0, 255).astype(np.uint8)


def write_map(saliency, path: str | Path) -> Path:
    """One map as an 8-bit greyscale PNG (written whole or not at all)."""
    image = Image.fromarray(as_8bit(saliency), mode="L")
    return atomic_write(Path(path), lambda f: image.save(f, format="PNG"))


def read_map(path: str | Path) -> np.ndarray:
    """A saved map as uint8 (H, W): greyscale as it is, colour maps by their luminance (as
    OpenCV's `IMREAD_GRAYSCALE`, which the community's tools read with)."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                values = np.asarray(im, dtype=np.float64)
                return (
                    np.round(values / max(values.max(), 1) * 255).astype(np.uint8)
                    if values.max() > 255
                    else values.astype(np.uint8)
                )
            return np.asarray(im.convert("L"), dtype=np.uint8)
    except Exception as err:  # noqa: BLE001 - not an image, cut short: one verdict naming it
        raise DataError(f"{path}: not a readable saliency map ({why_unreadable(err)}); save it again") from None


def maps_in(folder: str | Path) -> dict[str, Path]:
    """{image stem: map file} of a folder of saved maps; a folder that is not there is one line."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder of saliency maps; give <maps root>/<method>/<set>")
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in MAP_SUFFIXES and not p.name.startswith("."):
            found.setdefault(p.stem, p)  # a PNG before a JPEG of the same stem (sorted)
    return found


@dataclass
class ScoredMaps:
    """A method's maps scored on a set's test images: the means (`SaliencyMetrics.compute`'s
    scalars) and the per-image values, as a record's `.npz` holds them."""

    scores: dict[str, float]
    arrays: dict[str, np.ndarray]
    resized: list[str]  # stems whose map was resized to its mask
    extra: list[str]  # files left out: no test image of that stem


def score_maps(folder: str | Path, pairs: Iterable[Pair], progress: bool = False) -> ScoredMaps:
    """Score the maps in `folder` against the masks of `pairs` (the set's test images), each map at
    its mask's size; see the module's docstring for what is refused or warned about."""
    folder, pairs = Path(folder), list(pairs)
    found = maps_in(folder)
    missing = [p.stem for p in pairs if p.stem not in found]
    if missing:
        shown = ", ".join(f"{s}.png" for s in missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise DataError(
            f"{folder}: no map for {len(missing)} of the {len(pairs)} test images ({shown}); a method is scored on "
            "every test image of the set: save the missing maps (same stem as the image, .png)"
        )
    stems = {p.stem for p in pairs}
    extra = sorted(s for s in found if s not in stems)
    if extra:
        log.warning("%s: %d files are no test image of this set and are left out (%s)", folder, len(extra),
                    ", ".join(found[s].name for s in extra[:5]) + (" ..." if len(extra) > 5 else ""))  # fmt: skip
    metrics, names, resized = SaliencyMetrics(), [], []
    for pair in tqdm(pairs, desc=f"scoring {folder.name}", disable=not progress, leave=False):
        mask = decode_mask(pair.mask, pair.mask_threshold)
        q = read_map(found[pair.stem])
        if q.shape != mask.shape:
            resized.append(found[pair.stem].name)
            q = np.asarray(Image.fromarray(q).resize((mask.shape[1], mask.shape[0]), Image.BILINEAR), dtype=np.uint8)
        metrics.update(torch.from_numpy(np.array(q)), torch.from_numpy(mask))  # uint8: as saved
        names.append(pair.stem)
    if resized:
        log.warning("%s: %d maps are not the size of their masks and were resized to them (%s)", folder, len(resized),
                    ", ".join(resized[:5]) + (" ..." if len(resized) > 5 else ""))  # fmt: skip
    arrays = stored_arrays(names, {k: v.numpy() for k, v in metrics.per_image().items()})
    return ScoredMaps({k: float(v) for k, v in metrics.compute().items()}, arrays, resized, extra)
