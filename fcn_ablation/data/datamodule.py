"""`SaliencyDataModule`: a data set config -> pairs on disk -> split files -> DataLoaders."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from fcn_ablation.data import splits as splitting
from fcn_ablation.data.pairs import SaliencyDataset, find_pairs
from fcn_ablation.data.synthetic import generate, synthetic_root


def dataset_root(cfg_dataset, cache_dir: str) -> Path:
    """Where a data set's files are; the synthetic one lives in the cache, keyed by its settings."""
    syn = cfg_dataset.synthetic
    if cfg_dataset.generate and not cfg_dataset.root:
        return synthetic_root(cache_dir, syn.num_images, syn.size, syn.seed)
    return Path(cfg_dataset.root).expanduser()


class SaliencyDataModule(pl.LightningDataModule):
    def __init__(self, cfg_dataset, cache_dir: str, pin_memory: bool = False) -> None:
        super().__init__()
        self.cfg = cfg_dataset
        self.root = dataset_root(cfg_dataset, cache_dir)
        self.pin_memory = pin_memory
        self.split_dir: Path | None = None
        self.splits: dict[str, list[str]] = {}

    def prepare_data(self) -> None:
        syn = self.cfg.synthetic
        if self.cfg.generate and not self.cfg.root:
            generate(self.root, syn.num_images, syn.size, syn.seed)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        pairs = find_pairs(self.root, self.cfg.image_dir, self.cfg.mask_dir)
        s = self.cfg.split
        fractions = (s.train, s.val, s.test)
        self.split_dir = splitting.split_dir(self.root, fractions, s.seed)
        self.splits = splitting.load_or_write_splits(self.split_dir, [p.stem for p in pairs], fractions, s.seed)
        by_stem = {p.stem: p for p in pairs}
        mk = lambda name, **kw: SaliencyDataset([by_stem[x] for x in self.splits[name]], self.cfg.mean, self.cfg.std, **kw)  # noqa: E731
        self.train_set = mk("train", size=self.cfg.train_size, flip=self.cfg.flip)
        self.val_set = mk("val", size=self.cfg.train_size)
        self.test_set = mk("test")  # native size: evaluation happens at each image's original size

    @property
    def split_hash(self) -> str:
        return splitting.splits_hash(self.split_dir)

    def _loader(self, dataset, batch_size: int, shuffle: bool) -> DataLoader:
        workers = self.cfg.num_workers
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            num_workers=workers,
            persistent_workers=workers > 0,
            pin_memory=self.pin_memory,
            generator=torch.Generator().manual_seed(self.cfg.split.seed) if shuffle else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.cfg.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, self.cfg.batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, 1, shuffle=False)
