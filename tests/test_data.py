"""Synthetic data set, the shared pair loader, and split files."""

import io

import numpy as np
import torch
from PIL import Image

from fcn_ablation.data import splits
from fcn_ablation.data.datamodule import SaliencyDataModule
from fcn_ablation.data.dataset import SaliencyDataset
from fcn_ablation.data.pairs import list_pairs, read_pair
from fcn_ablation.data.synthetic import generate, make_sample
from fcn_ablation.data.transforms import Normalise, PairTransform


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
    first = splits.load_or_write_splits(d, stems, (0.8, 0.1, 0.1), seed=3)
    assert [len(first[k]) for k in splits.SPLITS] == [40, 5, 5]
    assert sorted(sum(first.values(), [])) == sorted(stems)
    assert first == splits.make_splits(stems, (0.8, 0.1, 0.1), seed=3)
    assert first != splits.make_splits(stems, (0.8, 0.1, 0.1), seed=4)
    h = splits.splits_hash(d)
    again = splits.load_or_write_splits(d, stems, (0.8, 0.1, 0.1), seed=99)  # files win over the seed
    assert again == first and splits.splits_hash(d) == h


def test_datamodule_writes_splits_beside_the_data(compose_cfg, tmp_path):
    cfg = compose_cfg(["dataset.synthetic.num_images=30", "dataset.synthetic.size=32"])
    dm = SaliencyDataModule(cfg.dataset, str(tmp_path))
    dm.prepare_data()
    dm.setup()
    assert (dm.split_dir / "test.txt").read_text().split() == dm.splits["test"]
    assert dm.split_dir.parent.parent == dm.root
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (24, 3, 3)
    batch = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    assert batch["image"].shape == (cfg.dataset.batch_size, 3, 32, 32) and batch["image"].dtype == torch.float32
    assert batch["mask"].dtype == torch.int64
