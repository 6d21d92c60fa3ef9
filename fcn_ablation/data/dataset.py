"""`SaliencyDataset`: validated pairs, decoded and transformed on access."""

from __future__ import annotations

import torch

from fcn_ablation.data.pairs import BadPair, Pair, read_pair
from fcn_ablation.data.transforms import PairTransform
from fcn_ablation.errors import DataError


class SaliencyDataset(torch.utils.data.Dataset):
    """Items: `image` uint8 (3, H, W), `mask` uint8 (H, W) in {0, 1} (and `IGNORE` for padding),
    `name` (the file stem). `transforms.Normalise` makes the network's input on the device."""

    def __init__(self, pairs: list[Pair], transform: PairTransform, keep_decoded: bool = False) -> None:
        """`keep_decoded`: keep each decoded pair after its first read (`dataset.keep_decoded`): a
        small set read every epoch is decoded once, not once an epoch."""
        self.pairs = list(pairs)
        self.transform = transform
        self.kept: dict[int, tuple] | None = {} if keep_decoded else None

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, key: int | tuple) -> dict:
        """`key`: an index, or `(index, flip[, crop])` as the training plan (`sampling.EpochPlan`) gives it."""
        i, flip, crop = (*key, None)[:3] if isinstance(key, tuple) else (key, False, None)
        try:
            pair = self.kept.get(i) if self.kept is not None else None
            if pair is None:
                pair = read_pair(self.pairs[i])
                if self.kept is not None:
                    self.kept[i] = pair
        except BadPair as err:  # changed since the scan; a `DataError` also survives a loader worker
            raise DataError(
                f"{err} (it changed after the start-up check); fix or remove it, or pass dataset.on_bad_file=skip"
            ) from None
        x, y = self.transform(*pair, flip=flip, crop=crop)
        return {"image": x, "mask": y, "name": self.pairs[i].stem}
