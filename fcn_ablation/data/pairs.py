"""One loader for every data set: images beside binary masks, paired by file stem.

MSRA10K keeps `N.jpg` and `N.png` in one folder; DUT-OMRON keeps them in two. The synthetic
set is written in MSRA10K's layout, so this code runs in every test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fcn_ablation.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg")
MASK_SUFFIXES = (".png", ".bmp")


@dataclass(frozen=True)
class Pair:
    stem: str
    image: Path
    mask: Path


def find_pairs(root: str | Path, image_dir: str, mask_dir: str) -> list[Pair]:
    """All (image, mask) pairs under `root/image_dir` and `root/mask_dir`, sorted by stem."""
    root = Path(root)
    images_at, masks_at = root / image_dir, root / mask_dir
    for d in (images_at, masks_at):
        if not d.is_dir():
            raise DataError(f"{d}: directory not found; set dataset.root to the folder that holds {image_dir!r}")
    images = {p.stem: p for p in images_at.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    masks = {p.stem: p for p in masks_at.iterdir() if p.suffix.lower() in MASK_SUFFIXES}
    if not images:
        raise DataError(f"{images_at}: no {'/'.join(IMAGE_SUFFIXES)} images found")
    missing = sorted(set(images) - set(masks))
    if missing:
        raise DataError(f"{images[missing[0]]}: no mask {missing[0]}.png in {masks_at} ({len(missing)} images lack one)")
    return [Pair(s, images[s], masks[s]) for s in sorted(images, key=_natural)]


def _natural(stem: str):
    return (0, int(stem), "") if stem.isdigit() else (1, 0, stem)


def read_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 HxWx3, bool HxW mask thresholded at 128)."""
    try:
        with Image.open(pair.image) as im:
            image = np.asarray(im.convert("RGB"))
        with Image.open(pair.mask) as im:
            mask = np.asarray(im.convert("L")) > 128
    except OSError as err:
        raise DataError(f"{pair.image} / {pair.mask}: cannot read ({err})") from err
    if image.shape[:2] != mask.shape:
        raise DataError(f"{pair.mask}: mask is {mask.shape[::-1]}, image is {image.shape[1::-1]} (W x H)")
    return image, mask


class SaliencyDataset(torch.utils.data.Dataset):
    """Items: `image` float (3, H, W) normalised as the network expects, `mask` long (H, W) in
    {0, 1}, `name`. With `size`, images are resized bilinearly and masks by nearest neighbour."""

    def __init__(self, pairs, mean, std, size: int | None = None, flip: bool = False):
        self.pairs = list(pairs)
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
        self.size, self.flip = size, flip

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> dict:
        image, mask = read_pair(self.pairs[i])
        if self.size is not None and image.shape[:2] != (self.size, self.size):
            image = np.asarray(Image.fromarray(image).resize((self.size, self.size), Image.BILINEAR))
            mask = np.asarray(Image.fromarray(mask).resize((self.size, self.size), Image.NEAREST))
        x = (torch.from_numpy(image.copy()).permute(2, 0, 1).float() - self.mean) / self.std
        y = torch.from_numpy(mask.astype(np.int64))
        if self.flip and torch.rand(1).item() < 0.5:
            x, y = x.flip(-1), y.flip(-1)
        return {"image": x, "mask": y, "name": self.pairs[i].stem}
