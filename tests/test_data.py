"""Synthetic data set, the shared pair loader, and split files."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from fcn_ablation.data import splits
from fcn_ablation.data.datamodule import SaliencyDataModule
from fcn_ablation.data.dataset import SaliencyDataset
from fcn_ablation.data.pairs import list_pairs, read_pair
from fcn_ablation.data.synthetic import generate, image_size, make_sample
from fcn_ablation.data.transforms import Normalise, PairTransform
from fcn_ablation.errors import DataError


def test_samples_are_deterministic_for_a_seed_and_differ_across_seeds():
    a = make_sample(np.random.default_rng([3, 1]), 48)
    b = make_sample(np.random.default_rng([3, 1]), 48)
    c = make_sample(np.random.default_rng([4, 1]), 48)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    image, mask = a
    assert image.shape == (48, 48, 3) and image.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 255} and 0 < (mask > 0).mean() < 0.7


def test_written_in_msra10k_layout_and_read_back_by_the_shared_loader(tmp_path):
    root = generate(tmp_path / "syn", 12, 40, seed=7)
    files = sorted(p.name for p in (root / "Imgs").iterdir())
    assert files[:4] == ["0.jpg", "0.png", "1.jpg", "1.png"] and len(files) == 24
    pairs = list_pairs(root / "Imgs", root / "Imgs").pairs
    assert [p.stem for p in pairs][:3] == ["0", "1", "2"] and len(pairs) == 12
    image, mask = read_pair(pairs[5])
    ref_image, ref_mask = make_sample(np.random.default_rng([7, 5]), 40)
    assert np.array_equal(mask, ref_mask > 128)  # PNG masks are lossless
    buf = io.BytesIO()
    Image.fromarray(ref_image).save(buf, format="JPEG", quality=92)
    assert np.array_equal(image, np.asarray(Image.open(buf).convert("RGB")))  # JPEG at quality 92
    # A second call reuses what is there.
    mtime = (root / "Imgs" / "0.jpg").stat().st_mtime_ns
    generate(tmp_path / "syn", 12, 40, seed=7)
    assert (root / "Imgs" / "0.jpg").stat().st_mtime_ns == mtime


def test_the_rehearsal_set_has_msra10ks_kind_of_sizes_and_loads_at_native_size(tmp_path, compose_cfg):
    """`dataset=synthetic_native` at a small scale: the long side `size`, the short side anywhere in
    `short_side`, both orientations, through the real loader in native batches of one."""
    from fcn_ablation.data.pairs import upright_size

    from helpers import app_config

    cfg = app_config(["dataset=synthetic_native", f"paths.cache_dir={tmp_path}", "dataset.synthetic.num_images=30",
                      "dataset.synthetic.size=40", "dataset.synthetic.short_side=[20,40]", "dataset.num_workers=0"])  # fmt: skip
    assert (
        cfg.dataset.batch_size == 1 and cfg.dataset.resize_mode == "native" and cfg.dataset.name == "synthetic_native"
    )
    data = SaliencyDataModule.for_trainer(
        cfg.dataset, cfg.paths.cache_dir, cfg.trainer.accelerator, cfg.trainer.enable_progress_bar
    )
    data.prepare_data()
    data.setup()
    assert data.root.name == "synthetic-v2-n30-s40-short20-40-seed0"
    sizes = [upright_size(p.image) for p in data.train_set.pairs + data.val_set.pairs + data.test_set.pairs]
    assert len(sizes) == 30 and all(max(hw) == 40 and 20 <= min(hw) <= 40 for hw in sizes)
    assert any(h > w for h, w in sizes) and any(h < w for h, w in sizes)  # portrait and landscape
    assert len(set(sizes)) > 10 and any(min(hw) % 2 for hw in sizes)  # many sizes, odd ones among them
    batch = next(iter(data.train_dataloader()))
    h, w = batch["image"].shape[-2:]
    assert batch["image"].shape[0] == 1 and (h, w) in sizes and batch["mask"].shape[-2:] == (h, w)
    # each image is the generator's sample at its drawn size (the mask is lossless PNG)
    pair = data.test_set.pairs[0]
    _, mask = read_pair(pair)
    size = image_size(0, int(pair.stem), 40, None, (20, 40))
    assert np.array_equal(mask, make_sample(np.random.default_rng([0, int(pair.stem)]), *size)[1] > 128)


@pytest.mark.parametrize("short_side", [[0, 40], [30, 20], [20, 50], [20]])
def test_a_short_side_out_of_range_is_one_line(compose_cfg, short_side):
    from fcn_ablation.config.checks import validate
    from fcn_ablation.errors import ConfigError

    from helpers import app_config

    cfg = app_config(
        ["dataset=synthetic_native", "dataset.synthetic.size=40", f"dataset.synthetic.short_side={short_side}"]
    )
    with pytest.raises(ConfigError, match=r"dataset.synthetic.short_side: \[lo, hi\]"):
        validate(cfg)


def test_items_are_8_bit_and_normalised_on_the_device_side(tmp_path):
    root = generate(tmp_path / "syn", 4, 32, seed=0)
    ds = SaliencyDataset(list_pairs(root / "Imgs", root / "Imgs").pairs, PairTransform([100] * 3, "resize", (24, 24)))
    item = ds[0]
    assert item["image"].shape == (3, 24, 24) and item["image"].dtype == torch.uint8
    assert item["mask"].shape == (24, 24) and set(item["mask"].unique().tolist()) <= {0, 1}
    raw = np.asarray(Image.open(root / "Imgs" / "0.jpg").resize((24, 24), Image.BILINEAR), dtype=np.float32)
    x = Normalise([100, 110, 120], [50, 25, 10])(item["image"][None])
    ref = (raw - np.array([100, 110, 120], np.float32)) / np.array([50, 25, 10], np.float32)
    assert x.dtype == torch.float32 and np.allclose(x[0].permute(1, 2, 0).numpy(), ref, atol=1e-5)


def test_splits_are_deterministic_disjoint_and_written_once(tmp_path):
    stems = [str(i) for i in range(50)]
    d = tmp_path / "splits"
    first, outside = splits.load_or_write_splits(d, stems, (0.8, 0.1, 0.1), seed=3)
    assert [len(first[k]) for k in splits.SPLITS] == [40, 5, 5] and outside == []
    assert sorted(sum(first.values(), [])) == sorted(stems)
    assert first == splits.make_splits(stems, (0.8, 0.1, 0.1), seed=3)
    assert first != splits.make_splits(stems, (0.8, 0.1, 0.1), seed=4)
    h = splits.splits_hash(d)
    again, _ = splits.load_or_write_splits(d, stems, (0.8, 0.1, 0.1), seed=99)  # files win over the seed
    assert again == first and splits.splits_hash(d) == h


# Names a file system allows, including those a whitespace-separated list could not hold.
ODD_NAMES = ["photo 1", " lead", "trail ", "tab\there", 'quote"d', '"quoted"', "new\nline", "näive", "a\\b", "10", "2"]


def test_any_file_name_round_trips_through_the_split_files(tmp_path):
    names = [n.replace("\\n", "\n").replace("\\t", "\t") for n in ODD_NAMES]
    assert "new\nline" in names and "tab\there" in names
    got, outside = splits.load_or_write_splits(tmp_path, names, (0.5, 0.2, 0.3), seed=0)
    assert sorted(sum(got.values(), [])) == sorted(names) and outside == []
    for name in splits.SPLITS:
        assert splits.read_names(tmp_path / f"{name}.txt") == got[name]
    assert (
        "photo 1\n"
        in (tmp_path / "train.txt").read_text()
        + (tmp_path / "val.txt").read_text()
        + (tmp_path / "test.txt").read_text()
    )


def test_split_files_written_before_quoting_read_the_same(tmp_path):
    old = ["1", "2", "10", "img_3"]  # the old writer: one name a line, read back by str.split
    for name, members in zip(splits.SPLITS, (old[:2], old[2:3], old[3:])):
        (tmp_path / f"{name}.txt").write_text("".join(f"{s}\n" for s in members))
    got, outside = splits.load_or_write_splits(tmp_path, old, (0.5, 0.25, 0.25), seed=0)
    assert got == {"train": ["1", "2"], "val": ["10"], "test": ["img_3"]} and outside == []


def test_pairs_in_no_split_stop_the_run_or_are_added_without_moving_any(tmp_path):
    first_half = [str(i) for i in range(15)]
    everything = [str(i) for i in range(30)]
    before, _ = splits.load_or_write_splits(tmp_path, first_half, (0.6, 0.2, 0.2), seed=0)
    with pytest.raises(
        DataError,
        match=r"15 of 30 pairs are in no split file \('15', '16', '17', '18', '19' and 10 more\).*new_pairs=add",
    ):
        splits.load_or_write_splits(tmp_path, everything, (0.6, 0.2, 0.2), seed=0)
    kept, outside = splits.load_or_write_splits(tmp_path, everything, (0.6, 0.2, 0.2), seed=0, new_pairs="ignore")
    assert kept == before and outside == everything[15:]
    added, outside = splits.load_or_write_splits(tmp_path, everything, (0.6, 0.2, 0.2), seed=0, new_pairs="add")
    assert outside == [] and sorted(int(x) for x in sum(added.values(), [])) == list(range(30))
    for name in splits.SPLITS:  # old pairs stay where they were, in order; new ones follow
        assert added[name][: len(before[name])] == before[name]
        assert all(splits.hashed_split(x, (0.6, 0.2, 0.2), 0) == name for x in added[name][len(before[name]) :])
    assert splits.load_or_write_splits(tmp_path, everything, (0.6, 0.2, 0.2), seed=0) == (added, [])  # written
    # The split a new pair joins does not depend on what else arrived with it: one at a time, the same.
    one_by_one = tmp_path / "one_by_one"
    splits.load_or_write_splits(one_by_one, first_half, (0.6, 0.2, 0.2), seed=0)
    for i in range(15, 30):
        got, _ = splits.load_or_write_splits(one_by_one, [str(j) for j in range(i + 1)], (0.6, 0.2, 0.2), 0, "add")
    assert got == added


def test_datamodule_writes_splits_beside_the_data(compose_cfg, tmp_path):
    cfg = compose_cfg(["dataset.synthetic.num_images=30", "dataset.synthetic.size=32"])
    dm = SaliencyDataModule(cfg.dataset, str(tmp_path))
    dm.prepare_data()
    dm.setup()
    assert splits.read_names(dm.split_dir / "test.txt") == dm.splits["test"]
    assert dm.split_dir.parent.parent == dm.root
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (24, 3, 3)
    batch = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    assert batch["image"].shape == (cfg.dataset.batch_size, 3, 32, 32) and batch["image"].dtype == torch.float32
    assert batch["mask"].dtype == torch.int64
