"""`SaliencyDataModule`: a data set config -> files on disk -> validated pairs -> split files
-> DataLoaders. Its `summary()` is what a result record says about the data."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from fcn_ablation.data import splits as splitting
from fcn_ablation.data.choices import BadFilePolicy, ResizeMode
from fcn_ablation.data.dataset import SaliencyDataset
from fcn_ablation.data.download import download_dataset
from fcn_ablation.data.layouts import resolve_layout, root_hints
from fcn_ablation.data.pairs import list_pairs
from fcn_ablation.data.sampling import EpochPlan, ResumableLoader
from fcn_ablation.data.scan import cache_file, scan_pairs
from fcn_ablation.data.synthetic import check_short_side, generate, synthetic_root
from fcn_ablation.data.transforms import Normalise, PairTransform, collate
from fcn_ablation.errors import DataError
from fcn_ablation.machine import CUDA_NAMES, usable_cores

log = logging.getLogger(__name__)
MAX_LISTED = 100  # stray files listed by name in a record (bad pairs are all listed)


def dataset_root(cfg_dataset, cache_dir: str) -> Path:
    """Where a data set's files are: `root`, else a cache folder (generated or downloaded)."""
    if cfg_dataset.root:
        return Path(cfg_dataset.root).expanduser()
    syn = cfg_dataset.synthetic
    if cfg_dataset.generate:
        return synthetic_root(cache_dir, *_synthetic_args(syn))
    return Path(cache_dir).expanduser() / "datasets" / cfg_dataset.name


def _synthetic_args(syn) -> tuple:
    """The generator's arguments from a `dataset.synthetic` section (`synthetic.generate`)."""
    return syn.num_images, syn.size, syn.seed, syn.width, check_short_side(syn.size, syn.short_side)


def split_base(root: Path, cache_dir: Path, name: str, fractions=None, seed: int = 0) -> Path:
    """Split files live beside the data, or in the cache when the data folder is read-only and holds
    none of these `fractions` and `seed` (a shared read-only copy's own split files are used as they are)."""
    if os.access(root, os.W_OK):
        return root
    if fractions is not None:
        own = splitting.split_dir(root, tuple(fractions), seed)
        if all((own / f"{n}.txt").is_file() for n in splitting.SPLITS):
            return root
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:10]
    return cache_dir / "splits" / f"{name}-{tag}"


def written_split_id(cfg_dataset, cache_dir: str) -> str | None:
    """`splits.split_id` of the split files a job on `cfg_dataset` will find, or None (as `written_split_hash`)."""
    directory = _written_split_dir(cfg_dataset, cache_dir)
    return (
        None
        if directory is None
        else splitting.split_id({"split_hash": splitting.splits_hash(directory), "split_dir": str(directory)})
    )


def _written_split_dir(cfg_dataset, cache_dir: str) -> Path | None:
    s = cfg_dataset.split
    if str(s.new_pairs) in ("add", "NewPairs.add"):
        return None
    cache = Path(cache_dir).expanduser()
    fractions = (s.train, s.val, s.test)
    root = dataset_root(cfg_dataset, cache_dir)
    directory = splitting.split_dir(split_base(root, cache, cfg_dataset.name, fractions, s.seed), fractions, s.seed)
    return directory if all((directory / f"{n}.txt").is_file() for n in splitting.SPLITS) else None


def written_split_hash(cfg_dataset, cache_dir: str) -> str | None:
    """The split hash a job on `cfg_dataset` will find (`summary()["split_hash"]`), read from the
    split files alone, without listing or checking the data; None when they are not all written
    yet, or when the job may still change them (`split.new_pairs=add`). Lets a launcher find a
    sweep's finished jobs before it starts them."""
    directory = _written_split_dir(cfg_dataset, cache_dir)
    return None if directory is None else splitting.splits_hash(directory)


def default_workers() -> int:
    return min(8, usable_cores())


class SaliencyDataModule(pl.LightningDataModule):
    def __init__(self, cfg_dataset, cache_dir: str, pin_memory: bool = False, progress: bool = True) -> None:
        super().__init__()
        self.cfg = cfg_dataset
        self.cache_dir = Path(cache_dir).expanduser()
        self.root = dataset_root(cfg_dataset, cache_dir)
        self.pin_memory = pin_memory
        self.progress = progress
        self.workers = default_workers() if cfg_dataset.num_workers is None else cfg_dataset.num_workers
        self.split_dir: Path | None = None
        self.splits: dict[str, list[str]] = {}
        self._summary: dict = {}
        self._train_loader: ResumableLoader | None = None
        self._resume_at: dict | None = None  # a checkpoint's loader position, for the next train_dataloader()
        self.normalise = Normalise(cfg_dataset.mean, cfg_dataset.std, cfg_dataset.channel_order)

    @classmethod
    def for_trainer(cls, cfg_dataset, cache_dir: str, accelerator: str, progress: bool) -> SaliencyDataModule:
        """The data module a trainer on `accelerator` reads: pinned memory on a GPU, progress bars as the trainer's."""
        return cls(cfg_dataset, cache_dir, pin_memory=accelerator in CUDA_NAMES, progress=bool(progress))

    def prepare_data(self) -> None:
        if self.cfg.generate and not self.cfg.root:
            generate(self.root, *_synthetic_args(self.cfg.synthetic))
        elif self.cfg.download and (not self.root.exists() or not any(self.root.iterdir())):
            download_dataset(self.root, self.cfg.sources, self.cache_dir / "downloads", progress=self.progress)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        layout = resolve_layout(self.root, self.cfg.layouts, self.cfg.name, root_hints(self.cfg),
                                self.cfg.get("image_exts"), self.cfg.get("mask_exts"))  # fmt: skip
        threshold = float(self.cfg.mask_threshold)
        listing = list_pairs(
            layout.images, layout.masks, threshold, self.cfg.get("image_exts"), self.cfg.get("mask_exts")
        )
        scan = scan_pairs(
            listing.pairs,
            cache_file(self.cache_dir, layout.images, layout.masks, threshold),
            workers=max(2, self.workers),
            progress=self.progress,
        )
        bad = [
            {"stem": p.stem, "file": str(p), "problem": f"no mask {p.stem}.png in {layout.masks}"}
            for p in listing.images_without_mask
        ]
        bad += listing.bad + scan.bad
        if bad and BadFilePolicy(self.cfg.on_bad_file) is BadFilePolicy.error:
            more = f" ({len(bad) - 1} more bad pairs)" if len(bad) > 1 else ""
            raise DataError(
                f"{bad[0]['file']}: {bad[0]['problem']}{more}; fix or remove it, or pass dataset.on_bad_file=skip"
            )
        if not scan.good:
            raise DataError(f"{layout.images}: no usable image/mask pairs ({len(bad)} bad)")
        if bad:
            log.warning(
                "%s: skipping %d bad pairs (dataset.on_bad_file=skip), e.g. %s: %s",
                self.cfg.name,
                len(bad),
                bad[0]["file"],
                bad[0]["problem"],
            )

        # Splits cover every image found, usable or not, so that mending a file returns it to
        # the split it always belonged to; skipped pairs are then left out of their split.
        s = self.cfg.split
        fractions = (s.train, s.val, s.test)
        self.split_dir = splitting.split_dir(self._split_base(fractions, s.seed), fractions, s.seed)
        self.splits, outside = splitting.load_or_write_splits(
            self.split_dir, listing.stems, fractions, s.seed, s.new_pairs
        )
        if outside:
            log.warning(
                "%s: %d pairs are in no split file and are not used (dataset.split.new_pairs=ignore), e.g. %s; "
                "dataset.split.new_pairs=add files them into splits", self.cfg.name, len(outside), ", ".join(outside[:5]),
            )  # fmt: skip
        by_stem = {p.stem: p for p in scan.good}
        used = {name: [by_stem[x] for x in members if x in by_stem] for name, members in self.splits.items()}
        if not used["test"] and s.test > 0:  # a set without a test part (DUTS-TR) is tested on others
            raise DataError(f"{self.split_dir}/test.txt: no usable test images")
        in_use = {p.stem for members in used.values() for p in members}
        empty = [x for x in scan.empty_masks if x in in_use]
        full = [x for x in scan.full_masks if x in in_use]
        if empty or full:
            log.warning(
                "%s: %d masks mark no salient pixel and %d mark every pixel (e.g. %s); they are used as they are "
                "and listed in the record (data_masks_empty, data_masks_full)", self.cfg.name, len(empty), len(full),
                ", ".join((empty + full)[:5]),
            )  # fmt: skip

        ds = self.cfg
        native = PairTransform.for_eval(ds.mean, ds.get("eval_size"))  # native, or resized for the network only
        keep = bool(ds.get("keep_decoded", False))
        self.train_set = SaliencyDataset(
            used["train"], PairTransform(ds.mean, ds.resize_mode, ds.fixed_size), keep_decoded=keep
        )
        self.val_set = SaliencyDataset(used["val"], native, keep_decoded=keep)
        self.test_set = SaliencyDataset(used["test"], native, keep_decoded=keep)  # masks at each image's own size
        self._summary = {
            "data_root": str(self.root),
            "data_layout": layout.describe(self.root),
            "data_pairs_found": len(listing.stems),
            "data_skipped_count": len(bad),
            "data_skipped": bad,
            "data_skipped_by_split": {n: len(m) - len(used[n]) for n, m in self.splits.items()},
            "data_masks_without_image": len(listing.masks_without_image),
            "data_other_files": [str(p.name) for p in listing.other_files[:MAX_LISTED]],
            "data_masks_empty_count": len(empty),
            "data_masks_empty": empty[:MAX_LISTED],
            "data_masks_full_count": len(full),
            "data_masks_full": full[:MAX_LISTED],
            "data_outside_splits_count": len(outside),
            "data_outside_splits": outside[:MAX_LISTED],
            "data_split_sizes": {n: len(m) for n, m in used.items()},
            "split_dir": str(self.split_dir),
            "split_files": [str(self.split_dir / f"{n}.txt") for n in splitting.SPLITS],
            "split_hash": splitting.splits_hash(self.split_dir),
            # how the network saw the test images: "native", or "HxW" (maps resized back to each mask)
            "eval_input": "native" if ds.get("eval_size") is None else "x".join(map(str, ds.eval_size)),
            "mask_threshold": threshold,
        }

    def _split_base(self, fractions, seed: int) -> Path:
        return split_base(self.root, self.cache_dir, self.cfg.name, fractions, seed)

    def summary(self) -> dict:
        return dict(self._summary)

    def on_after_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
        """Normalise on the device the batch now lives on (8-bit until here)."""
        return {**batch, "image": self.normalise(batch["image"]), "mask": batch["mask"].long()}

    def _loader_args(self, batch_size: int) -> dict:
        workers = self.workers
        return {"batch_size": batch_size, "num_workers": workers, "persistent_workers": workers > 0,
                "pin_memory": self.pin_memory, "collate_fn": collate}  # fmt: skip

    def _loader(self, dataset, batch_size: int, shuffle: bool = False) -> DataLoader:
        # A generator of its own (the workers' base seed): no loader draws from torch's global
        # generator, which dropout uses and a checkpoint restores (`data.sampling`).
        return DataLoader(
            dataset, shuffle=False, generator=torch.Generator().manual_seed(0), **self._loader_args(batch_size)
        )

    def train_dataloader(self) -> DataLoader:
        """The training batches in each epoch's plan (order and flips: `sampling.EpochPlan`),
        resumed where a checkpoint's `state_dict` says (`load_state_dict`)."""
        plan = EpochPlan(
            len(self.train_set), self.cfg.split.seed, flip=self.cfg.flip, crop_scale=self.cfg.get("crop_scale")
        )
        loader = ResumableLoader(self.train_set, plan, **self._loader_args(self.cfg.batch_size))
        if self._resume_at is not None:
            loader.restore(self._resume_at)
            self._resume_at = None
        self._train_loader = loader
        return loader

    def state_dict(self) -> dict:
        """Saved in every checkpoint by Lightning: where the training loader is in its epoch."""
        return {"train_loader": self._train_loader.position()} if self._train_loader is not None else {}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restored by Lightning before it asks for the training loader (`train_dataloader`)."""
        self._resume_at = state_dict.get("train_loader")

    def val_dataloader(self) -> DataLoader:
        # Validation is native like the test; batches of one unless training batches are native too.
        native = ResizeMode(self.cfg.resize_mode) is ResizeMode.native and self.cfg.get("eval_size") is None
        return self._loader(self.val_set, self.cfg.batch_size if native else 1, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, 1, shuffle=False)
