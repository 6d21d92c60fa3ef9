"""From decoded pairs to network input, as the paper's Caffe pipeline does it, or batched.

`native` is Caffe FCN: the image at its own size, mean subtracted, one image a batch. `resize`
and `pad` bring training images to one `fixed_size` so that batches can be larger: resize
stretches (bilinear image, nearest-neighbour mask); pad keeps the aspect ratio, shrinking an
image only if it does not fit, and marks the padding `IGNORE` so that the loss skips it.
Evaluation never uses either: the test and validation sets stay native, so scores are at each
image's original size, unless `eval_size` is set: then the image alone is resized (the mask
stays native) and the network's map is resized back to the mask's size before it is scored
(`training.module`), as SOD methods test.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.utils.data import default_collate

from fcn_ablation.data.choices import ChannelOrder, ResizeMode
from fcn_ablation.errors import DataError

IGNORE = 255  # mask value the loss ignores (padding)


class PairTransform:
    """Decoded pair -> (uint8 image (3, H, W), uint8 mask (H, W) in {0, 1, IGNORE}).

    Tensors stay 8-bit until they reach the device (`Normalise`, run by the data module after
    the transfer): a loader worker then ships a quarter of the bytes, which on two cores is
    the difference between 250 and 450 images a second.
    """

    def __init__(self, mean, mode: ResizeMode | str = ResizeMode.native, size=None, image_only: bool = False) -> None:
        """`image_only` (with mode resize): the mask keeps its native size (evaluation at `eval_size`)."""
        self.fill = tuple(int(round(m)) for m in mean)  # padding: the mean colour, ~0 once normalised
        self.mode = ResizeMode(mode)
        self.size = tuple(size) if size is not None else None
        self.image_only = image_only

    @classmethod
    def for_eval(cls, mean, eval_size=None) -> PairTransform:
        """Validation and test: native, or the image alone resized to `eval_size` ([H, W])."""
        if eval_size is None:
            return cls(mean)
        return cls(mean, ResizeMode.resize, eval_size, image_only=True)

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, flip: bool = False, crop=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`flip`: mirror left to right; `crop` (share, x, y): cut `share` of each side, placed at
        x and y of the room left, before resizing (both drawn by the training plan,
        `sampling.EpochPlan`, never here)."""
        if crop is not None:
            image, mask = _crop(image, mask, crop)
        if self.mode is ResizeMode.pad:
            image, mask = self._pad(image, mask)
        elif self.mode is ResizeMode.resize and image.shape[:2] != self.size:
            resized, resized_mask = _resize(image, mask, self.size)
            image, mask = (resized, mask) if self.image_only else (resized, resized_mask)
        x = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)
        y = torch.from_numpy(np.array(mask, dtype=np.uint8))
        if flip:
            x, y = x.flip(-1), y.flip(-1)
        return x, y

    def _pad(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        (h, w), (th, tw) = image.shape[:2], self.size
        if h > th or w > tw:
            scale = min(th / h, tw / w)
            image, mask = _resize(image, mask, (max(1, round(h * scale)), max(1, round(w * scale))))
            h, w = image.shape[:2]
        out_image = np.empty((th, tw, 3), np.uint8)
        out_image[:] = self.fill
        out_mask = np.full((th, tw), IGNORE, np.uint8)
        out_image[:h, :w], out_mask[:h, :w] = image, mask
        return out_image, out_mask


class Normalise:
    """uint8 RGB images (..., 3, H, W) -> float32 `(x - mean) / std` in `channel_order`, on
    whatever device they are. `mean` and `std` are given in RGB order whatever the order."""

    def __init__(self, mean, std, channel_order: ChannelOrder | str = ChannelOrder.rgb) -> None:
        self.bgr = ChannelOrder(channel_order) is ChannelOrder.bgr
        self.mean = torch.tensor(list(mean), dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(list(std), dtype=torch.float32).view(3, 1, 1)
        if self.bgr:
            self.mean, self.std = self.mean.flip(0), self.std.flip(0)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float().flip(-3) if self.bgr else x.float()
        return (x - self.mean.to(x.device)) / self.std.to(x.device)


def _crop(image: np.ndarray, mask: np.ndarray, crop) -> tuple[np.ndarray, np.ndarray]:
    share, x, y = crop
    h, w = mask.shape
    ch, cw = max(1, round(h * share)), max(1, round(w * share))
    top, left = int(round((h - ch) * y)), int(round((w - cw) * x))
    return image[top : top + ch, left : left + cw], mask[top : top + ch, left : left + cw]


def _resize(image: np.ndarray, mask: np.ndarray, hw) -> tuple[np.ndarray, np.ndarray]:
    size = (int(hw[1]), int(hw[0]))
    image = np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))
    mask = np.asarray(Image.fromarray(mask).resize(size, Image.NEAREST))
    return image, mask


def collate(items: list[dict]) -> dict:
    """`default_collate`, with a clear message when native-size images of different sizes meet."""
    shapes = {tuple(it["image"].shape[1:]) for it in items}
    if len(shapes) > 1:
        names = ", ".join(f"{it['name']} {tuple(it['image'].shape[1:])}" for it in items[:4])
        raise DataError(
            f"dataset.batch_size={len(items)}: images of different sizes in one batch ({names}); "
            "set dataset.batch_size=1, or dataset.resize_mode=resize|pad with dataset.fixed_size=[H,W]"
        )
    return default_collate(items)
