"""The real data sets' loading on small trees the tests write: every published layout, and a
corpus of bad inputs that must each give a clear error naming the file (or be skipped and
counted), never a bare traceback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fcn_ablation.data.datamodule import SaliencyDataModule
from fcn_ablation.data.pairs import decode_image, decode_mask, list_pairs, read_pair, upright_size
from fcn_ablation.data.scan import cache_file, scan_pairs
from fcn_ablation.data.synthetic import generate, make_sample
from fcn_ablation.data.transforms import IGNORE, Normalise, PairTransform, collate
from fcn_ablation.errors import DataError

H, W = 30, 40


def write_pair(images, masks, stem, seed=0, hw=(H, W)):
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    image, mask = make_sample(np.random.default_rng([seed, int(stem) if stem.isdigit() else 0]), *hw)
    Image.fromarray(image).save(images / f"{stem}.jpg", quality=92)
    Image.fromarray(mask).save(masks / f"{stem}.png")
    return image, mask


def write_set(images, masks, n=10):
    for i in range(n):
        write_pair(images, masks, str(i))


def datamodule(compose_cfg, tmp_path, root, dataset="msra10k", *extra):
    cfg = compose_cfg([f"dataset={dataset}", f"dataset.root={root}", "dataset.num_workers=0", *extra])
    dm = SaliencyDataModule(cfg.dataset, str(tmp_path / "cache"), progress=False)
    dm.prepare_data()
    dm.setup()
    return dm


LAYOUTS = [
    ("msra10k", "MSRA10K_Imgs_GT/Imgs", "MSRA10K_Imgs_GT/Imgs"),  # the archive, unpacked as is
    ("msra10k", "Imgs", "Imgs"),
    ("msra10k", "images", "masks"),
    ("msra10k", "Imgs", "GT"),
    ("dut_omron", "DUT-OMRON-image", "pixelwiseGT-new-PNG"),
    ("dut_omron", "Image", "GT"),
    ("dut_omron", "images", "masks"),
]


@pytest.mark.parametrize("dataset, images, masks", LAYOUTS)
def test_every_published_layout_is_found(compose_cfg, tmp_path, dataset, images, masks):
    root = tmp_path / "data"
    write_set(root / images, root / masks, n=10)
    dm = datamodule(compose_cfg, tmp_path, root, dataset)
    assert dm.summary()["data_layout"] == {"images": images, "masks": masks}
    assert dm.summary()["data_split_sizes"] == {"train": 8, "val": 1, "test": 1}
    item = dm.test_set[0]
    assert item["image"].shape == (3, H, W) and item["mask"].shape == (H, W)


# The salient-object benchmark sets (issue 25): each as its published archive unpacks (first row of
# each) and as it is commonly re-packaged. HKU-IS ships PNG images; PASCAL-S grey-level masks.
BENCHMARK_LAYOUTS = [
    ("duts", "DUTS-TR/DUTS-TR-Image", "DUTS-TR/DUTS-TR-Mask", ".jpg"),
    ("duts", "Image", "Mask", ".jpg"),
    ("duts_te", "DUTS-TE/DUTS-TE-Image", "DUTS-TE/DUTS-TE-Mask", ".jpg"),
    ("duts_te", "images", "masks", ".jpg"),
    ("ecssd", "images", "ground_truth_mask", ".jpg"),
    ("ecssd", "Image", "Mask", ".jpg"),
    ("hku_is", "HKU-IS/imgs", "HKU-IS/gt", ".png"),
    ("hku_is", "Imgs", "GT", ".png"),
    ("pascal_s", "datasets/imgs/pascal", "datasets/masks/pascal", ".jpg"),
    ("pascal_s", "salObj/datasets/imgs/pascal", "salObj/datasets/masks/pascal", ".jpg"),
    ("pascal_s", "Image", "Mask", ".jpg"),
]
TEST_ONLY = {"duts_te", "ecssd", "hku_is", "pascal_s"}


@pytest.mark.parametrize("dataset, images, masks, suffix", BENCHMARK_LAYOUTS)
def test_every_benchmark_set_loads_its_miniature_layout(compose_cfg, tmp_path, dataset, images, masks, suffix):
    root = tmp_path / "data"
    for i in range(10):
        image, mask = write_pair(root / images, root / masks, str(i))
        if suffix == ".png":  # HKU-IS: the images are PNG files too
            (root / images / f"{i}.jpg").unlink()
            Image.fromarray(image).save(root / images / f"{i}.png")
        if dataset == "pascal_s":  # grey levels: the share of subjects who marked a pixel
            Image.fromarray((mask > 0).astype(np.uint8) * 200 + 20).save(root / masks / f"{i}.png")
    dm = datamodule(compose_cfg, tmp_path, root, dataset)
    found = {k: str(Path(v)) for k, v in dm.summary()["data_layout"].items()}
    assert found == {"images": images, "masks": masks}
    sizes = dm.summary()["data_split_sizes"]
    assert sizes == ({"train": 0, "val": 0, "test": 10} if dataset in TEST_ONLY else {"train": 9, "val": 1, "test": 0})
    item = (dm.test_set if dataset in TEST_ONLY else dm.train_set)[0]
    assert item["image"].shape == (3, H, W) and item["mask"].shape == (H, W)
    assert set(item["mask"].unique().tolist()) <= {0, 1} and item["mask"].sum() > 0
    if dataset == "pascal_s":  # 220 > 128 is foreground, 20 is not: the grey-level masks read as the community's
        stem = item["name"]
        expected = np.asarray(Image.open(root / masks / f"{stem}.png")) > 128
        assert np.array_equal(item["mask"].numpy().astype(bool), expected)


def test_both_duts_parts_in_one_folder_each_config_finds_its_own(compose_cfg, tmp_path):
    root = tmp_path / "DUTS"
    for part, n in (("TR", 10), ("TE", 6)):
        for i in range(n):
            write_pair(
                root / f"DUTS-{part}" / f"DUTS-{part}-Image", root / f"DUTS-{part}" / f"DUTS-{part}-Mask", f"{i}"
            )
    train = datamodule(compose_cfg, tmp_path, root, "duts")
    assert train.summary()["data_layout"]["images"] == "DUTS-TR/DUTS-TR-Image" and len(train.train_set) == 9
    test = datamodule(compose_cfg, tmp_path, root, "duts_te")
    assert test.summary()["data_layout"]["images"] == "DUTS-TE/DUTS-TE-Image" and len(test.test_set) == 6


@pytest.mark.parametrize("dataset", ["duts_te", "ecssd", "hku_is", "pascal_s", "duts"])
def test_a_benchmark_set_without_files_says_where_they_come_from(compose_cfg, tmp_path, dataset):
    from fcn_ablation.config import datasets

    section = datasets.load(dataset)
    with pytest.raises(DataError) as err:
        datamodule(compose_cfg, tmp_path, tmp_path / "nowhere", dataset)
    msg = str(err.value)
    assert f"pass dataset.root=/path/to/{dataset} (or set {section.root_env})" in msg
    if section.sources:  # a published archive download=true fetches
        assert "dataset.download=true" in msg and section.homepage is not None
    else:  # HKU-IS: a RAR on Google Drive, fetched by hand
        assert f"download it from {section.homepage}" in msg


def test_the_synthetic_set_loads_as_msra10k(compose_cfg, tmp_path):
    root = generate(tmp_path / "syn", 20, 32, seed=1)
    dm = datamodule(compose_cfg, tmp_path, root, "msra10k")
    assert dm.summary()["data_layout"] == {"images": "Imgs", "masks": "Imgs"} and len(dm.train_set) == 16


def test_an_unknown_layout_lists_what_was_looked_for_and_found(compose_cfg, tmp_path):
    root = tmp_path / "data"
    write_set(root / "pictures", root / "labels", n=3)
    with pytest.raises(DataError) as err:
        datamodule(compose_cfg, tmp_path, root, "dut_omron")
    msg = str(err.value)
    assert "DUT-OMRON-image/*.jpg + pixelwiseGT-new-PNG/*.png" in msg and "images/*.jpg + masks/*.png" in msg
    assert "labels/ (0 JPEG, 3 PNG/BMP, 0 other files)" in msg and "pictures/ (3 JPEG, 0 PNG/BMP, 0 other files)" in msg


def test_an_empty_folder_and_a_missing_root_are_named(compose_cfg, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: no msra10k layout found .* found an empty folder"):
        datamodule(compose_cfg, tmp_path, tmp_path / "empty")
    with pytest.raises(
        DataError,
        match=r"nowhere: data set root does not exist; pass dataset.root=/path/to/msra10k \(or set MSRA10K_ROOT\), or pass dataset.download=true",
    ):
        datamodule(compose_cfg, tmp_path, tmp_path / "nowhere")


def _truncated_jpeg(d, stem):
    data = (d / f"{stem}.jpg").read_bytes()
    (d / f"{stem}.jpg").write_bytes(data[: len(data) // 2])
    return f"{stem}.jpg", "cannot read the image"


def _missing_mask(d, stem):
    (d / f"{stem}.png").unlink()
    return f"{stem}.jpg", f"no mask {stem}.png"


def _mask_of_another_size(d, stem):
    Image.new("L", (W + 2, H), 0).save(d / f"{stem}.png")
    return f"{stem}.png", f"mask is {W + 2}x{H}, its image {stem}.jpg is {W}x{H}"


def _colour_mask(d, stem):
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[..., 0] = 255
    Image.fromarray(rgb).save(d / f"{stem}.png")
    return f"{stem}.png", "mask has colours"


def _text_named_jpg(d, stem):
    (d / f"{stem}.jpg").write_text("not an image\n")
    return f"{stem}.jpg", "cannot read the image"


def _second_image_of_a_stem(d, stem):
    (d / f"{stem}.jpeg").write_bytes((d / f"{stem}.jpg").read_bytes())
    return f"{stem}.jpeg", f"two images for one stem ({stem}.jpeg and {stem}.jpg in"


def _named_pipe(d, stem):
    (d / f"{stem}.jpg").unlink()
    os.mkfifo(d / f"{stem}.jpg")  # opening it for reading would block for ever
    return f"{stem}.jpg", "a named pipe, socket or device, not an image file"


def _folder_named_like_a_mask(d, stem):
    (d / f"{stem}.png").unlink()
    (d / f"{stem}.png").mkdir()
    return f"{stem}.png", "a folder, not a mask file"


BAD = [_truncated_jpeg, _missing_mask, _mask_of_another_size, _colour_mask, _text_named_jpg]
# Files no reader may choose between or open: two images of one stem, a pipe, a folder.
AMBIGUOUS = [_second_image_of_a_stem, _named_pipe, _folder_named_like_a_mask]


@pytest.mark.parametrize("damage", BAD + AMBIGUOUS, ids=lambda f: f.__name__[1:])
def test_each_bad_pair_stops_the_run_naming_the_file_or_is_skipped(compose_cfg, tmp_path, damage):
    d = tmp_path / "data" / "Imgs"
    write_set(d, d, n=10)
    name, problem = damage(d, "3")
    with pytest.raises(DataError) as err:
        datamodule(compose_cfg, tmp_path, tmp_path / "data")
    msg = str(err.value)
    assert msg.startswith(str(d / name)) and problem in msg and "dataset.on_bad_file=skip" in msg
    summary = datamodule(compose_cfg, tmp_path, tmp_path / "data", "msra10k", "dataset.on_bad_file=skip").summary()
    assert [b["stem"] for b in summary["data_skipped"]] == ["3"] and sum(summary["data_split_sizes"].values()) == 9


def test_skipping_bad_pairs_counts_and_lists_them_and_keeps_the_splits(compose_cfg, tmp_path):
    d = tmp_path / "data" / "Imgs"
    write_set(d, d, n=15)
    clean = datamodule(compose_cfg, tmp_path, tmp_path / "data").summary()
    expected = {str(10 + i): damage(d, str(10 + i)) for i, damage in enumerate(BAD)}
    (d / "Thumbs.db").write_bytes(bytes(10))  # a stray file: ignored, listed
    with pytest.raises(DataError, match="4 more bad pairs"):
        datamodule(compose_cfg, tmp_path, tmp_path / "data")
    summary = datamodule(compose_cfg, tmp_path, tmp_path / "data", "msra10k", "dataset.on_bad_file=skip").summary()
    assert summary["data_skipped_count"] == 5 and summary["data_pairs_found"] == 15
    got = {b["stem"]: (os.path.basename(b["file"]), b["problem"]) for b in summary["data_skipped"]}
    assert got.keys() == expected.keys()
    for stem, (name, problem) in expected.items():
        assert got[stem][0] == name and problem in got[stem][1]
    assert summary["data_other_files"] == ["Thumbs.db"]
    # The split files written for the clean set are reused; bad pairs are left out of theirs.
    assert summary["split_hash"] == clean["split_hash"]
    members = _split_members(summary)
    for split, n in summary["data_skipped_by_split"].items():
        assert n == len(set(members[split]) & expected.keys())
        assert summary["data_split_sizes"][split] == len(members[split]) - n
    assert sum(summary["data_split_sizes"].values()) == 10


def test_an_rgba_png_image_in_a_folder_of_its_own_is_used_as_rgb(compose_cfg, tmp_path):
    root = tmp_path / "data"
    write_set(root / "images", root / "masks", n=10)
    rgb = np.asarray(Image.open(root / "images" / "4.jpg"))
    (root / "images" / "4.jpg").unlink()
    Image.fromarray(np.dstack([rgb, np.full((H, W), 9, np.uint8)]), "RGBA").save(root / "images" / "4.png")
    dm = datamodule(compose_cfg, tmp_path, root, "dut_omron")
    assert dm.summary()["data_skipped_count"] == 0
    everything = dm.train_set.pairs + dm.val_set.pairs + dm.test_set.pairs
    (pair,) = [p for p in everything if p.stem == "4"]
    assert pair.image.name == "4.png" and np.array_equal(decode_image(pair.image), rgb)


def _split_members(summary):
    return {os.path.basename(f)[:-4]: open(f).read().split() for f in summary["split_files"]}


def test_split_files_are_listed_with_their_hash_and_fall_back_to_the_cache_when_read_only(
    compose_cfg, tmp_path, monkeypatch
):
    root = tmp_path / "data"
    write_set(root / "Imgs", root / "Imgs", n=10)
    writable = datamodule(compose_cfg, tmp_path, root).summary()
    assert writable["split_dir"].startswith(str(root / "splits"))
    members = _split_members(writable)
    shutil.move(root / "splits", tmp_path / "kept-splits")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if Path(path) == root else real_access(path, mode))
    summary = datamodule(compose_cfg, tmp_path, root).summary()
    assert summary["split_dir"].startswith(str(tmp_path / "cache" / "splits" / "msra10k-"))
    assert [os.path.basename(f) for f in summary["split_files"]] == ["train.txt", "val.txt", "test.txt"]
    assert _split_members(summary) == members  # same seed, same split
    assert summary["split_hash"] == writable["split_hash"] and len(summary["split_hash"]) == 16
    # A read-only copy that holds its own split files of these fractions and seed: read as they are.
    shutil.move(tmp_path / "kept-splits", root / "splits")
    own = datamodule(compose_cfg, tmp_path, root).summary()
    assert own["split_dir"] == writable["split_dir"] and own["split_hash"] == writable["split_hash"]


def test_images_in_any_mode_become_rgb(tmp_path):
    rgb = make_sample(np.random.default_rng(0), H, W)[0]
    Image.fromarray(np.dstack([rgb, np.full((H, W), 9, np.uint8)]), "RGBA").save(tmp_path / "rgba.png")
    assert np.array_equal(decode_image(tmp_path / "rgba.png"), rgb)  # alpha dropped, colours kept
    grey = rgb[..., 0]
    Image.fromarray(grey).save(tmp_path / "grey.png")
    assert np.array_equal(decode_image(tmp_path / "grey.png"), np.dstack([grey] * 3))
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=100)
    out = decode_image(tmp_path / "cmyk.jpg")
    assert out.shape == (H, W, 3) and np.abs(out.astype(int) - rgb).mean() < 8


def test_masks_are_binarised_the_same_way_in_every_encoding(tmp_path):
    ref = np.zeros((H, W), bool)
    ref[5:20, 10:30] = True

    def save(arr, name, mode=None):
        Image.fromarray(arr, mode).save(tmp_path / name)
        return decode_mask(tmp_path / name)

    assert np.array_equal(save(ref.astype(np.uint8) * 255, "255.png"), ref)
    assert np.array_equal(save(ref.astype(np.uint8), "01.png"), ref)
    assert np.array_equal(save((ref * 65535).astype(np.uint16), "16bit.png"), ref)
    assert Image.open(tmp_path / "16bit.png").mode.startswith("I")
    grey = np.where(ref, 128, 127).astype(np.uint8)  # salient at 0.5 of full scale: 128 and up
    assert np.array_equal(save(grey, "grey.png"), ref)
    assert np.array_equal(save(np.dstack([ref.astype(np.uint8) * 255] * 3), "rgb_grey.png"), ref)
    assert np.array_equal(save(ref, "bits.png"), ref)  # 1-bit PNG


def test_the_scan_is_cached_and_rechecks_only_what_changed(tmp_path):
    d = tmp_path / "Imgs"
    write_set(d, d, n=6)
    pairs = list_pairs(d, d).pairs
    cache = cache_file(tmp_path / "cache", d, d)
    first = scan_pairs(pairs, cache, progress=False)
    assert (len(first.good), first.bad, first.rescanned) == (6, [], 6)
    assert scan_pairs(pairs, cache, progress=False).rescanned == 0
    _truncated_jpeg(d, "3")
    again = scan_pairs(pairs, cache, progress=False)
    assert again.rescanned == 1 and [b["stem"] for b in again.bad] == ["3"]
    cache.write_text("{ not json")  # a damaged cache is rebuilt, not fatal
    assert scan_pairs(pairs, cache, progress=False).rescanned == 6


def test_batched_modes_resize_or_pad_and_masks_stay_binary():
    image, mask = make_sample(np.random.default_rng(1), 50, 80)
    mask = mask > 0
    x, y = PairTransform([0] * 3, "resize", (32, 32))(image, mask)
    assert x.shape == (3, 32, 32) and set(y.unique().tolist()) <= {0, 1}
    assert torch.equal(
        y, torch.from_numpy(np.asarray(Image.fromarray(mask).resize((32, 32), Image.NEAREST)).astype(np.uint8))
    )
    # Pad: a larger image shrinks to fit (keeping its 5:8 aspect), the rest is ignored by the loss
    # and holds the mean colour, which normalises to zero.
    mean = [10.2, 20.0, 29.8]
    x, y = PairTransform(mean, "pad", (40, 40))(image, mask)
    assert x.shape == (3, 40, 40) and y.shape == (40, 40)
    assert (y[:25] != IGNORE).all() and (y[25:] == IGNORE).all()
    assert Normalise(mean, [1] * 3)(x)[:, 25:].abs().max() <= 0.21
    # A smaller image is padded, not stretched: its pixels are the originals.
    x, y = PairTransform(mean, "pad", (64, 96))(image, mask)
    assert torch.equal(x[:, :50, :80], torch.from_numpy(image).permute(2, 0, 1))
    assert (
        torch.equal(y[:50, :80], torch.from_numpy(mask.astype(np.uint8)))
        and (y[50:] == IGNORE).all()
        and (y[:, 80:] == IGNORE).all()
    )


def test_native_images_of_different_sizes_in_one_batch_are_a_clear_error():
    items = [{"image": torch.zeros(3, 30, 40), "mask": torch.zeros(30, 40, dtype=torch.long), "name": n} for n in "ab"]
    assert collate(items)["image"].shape == (2, 3, 30, 40)
    items[1] = {"image": torch.zeros(3, 32, 40), "mask": torch.zeros(32, 40, dtype=torch.long), "name": "b"}
    with pytest.raises(
        DataError, match=r"dataset.batch_size=2: images of different sizes .* dataset.resize_mode=resize\|pad"
    ):
        collate(items)


def test_loaders_use_workers_and_pinned_memory_and_batch_in_pad_mode(compose_cfg, tmp_path):
    root = tmp_path / "data"
    for i in range(10):
        write_pair(root / "Imgs", root / "Imgs", str(i), hw=(30 + i, 40))
    cfg = compose_cfg(["dataset=msra10k", f"dataset.root={root}", "dataset.num_workers=2", "dataset.batch_size=4",
                       "dataset.resize_mode=pad", "dataset.fixed_size=[48,48]"])  # fmt: skip
    dm = SaliencyDataModule(cfg.dataset, str(tmp_path / "cache"), pin_memory=True, progress=False)
    dm.setup()
    train = dm.train_dataloader()
    assert train.num_workers == 2 and train.persistent_workers and train.pin_memory
    batch = next(iter(train))
    assert batch["image"].shape == (4, 3, 48, 48)
    test = dm.test_dataloader()
    assert test.batch_size == 1 and next(iter(test))["image"].shape[2:] == dm.test_set[0]["image"].shape[1:]


def test_two_images_of_one_stem_in_an_image_folder_of_their_own(compose_cfg, tmp_path):
    root = tmp_path / "data"
    write_set(root / "images", root / "masks", n=8)
    Image.new("RGB", (W, H)).save(root / "images" / "5.png")
    with pytest.raises(DataError, match=r"two images for one stem \(5\.jpg and 5\.png in .*images\); keep one"):
        datamodule(compose_cfg, tmp_path, root)


def test_masks_with_no_or_only_salient_pixels_are_used_counted_and_listed(compose_cfg, tmp_path, caplog):
    d = tmp_path / "data" / "Imgs"
    write_set(d, d, n=10)
    Image.new("L", (W, H), 0).save(d / "2.png")
    Image.new("L", (W, H), 0).save(d / "7.png")
    Image.new("L", (W, H), 255).save(d / "4.png")
    with caplog.at_level("WARNING"):
        summary = datamodule(compose_cfg, tmp_path, tmp_path / "data").summary()
    assert (summary["data_masks_empty_count"], summary["data_masks_empty"]) == (2, ["2", "7"])
    assert (summary["data_masks_full_count"], summary["data_masks_full"]) == (1, ["4"])
    assert sum(summary["data_split_sizes"].values()) == 10
    said = [r.getMessage() for r in caplog.records if "salient" in r.getMessage()]
    assert len(said) == 1 and "2 masks mark no salient pixel and 1 mark every pixel" in said[0]


def test_names_with_spaces_and_other_odd_characters_are_a_good_data_set(compose_cfg, tmp_path):
    d = tmp_path / "data" / "Imgs"
    names = ["photo 1", "photo 2", " lead", "trail ", "quote'd", "näive", "semi;colon", "#hash", "7", "8"]
    for stem in names:
        write_pair(d, d, stem)
    first = datamodule(compose_cfg, tmp_path, tmp_path / "data")
    again = datamodule(compose_cfg, tmp_path, tmp_path / "data")  # reads the split files back
    assert again.splits == first.splits and sorted(sum(again.splits.values(), [])) == sorted(names)
    assert sorted(p.stem for ds in (again.train_set, again.val_set, again.test_set) for p in ds.pairs) == sorted(names)


def test_a_pair_added_after_the_splits_stops_the_run_until_the_user_decides(compose_cfg, tmp_path):
    d = tmp_path / "data" / "Imgs"
    write_set(d, d, n=15)  # a copy caught half way: the first run writes the split files
    before = datamodule(compose_cfg, tmp_path, tmp_path / "data")
    for i in range(15, 30):
        write_pair(d, d, str(i))
    with pytest.raises(
        DataError,
        match=r"15 of 30 pairs are in no split file .*was a copy still running\?.*dataset.split.new_pairs=add",
    ):
        datamodule(compose_cfg, tmp_path, tmp_path / "data")
    ignored = datamodule(compose_cfg, tmp_path, tmp_path / "data", "msra10k", "dataset.split.new_pairs=ignore")
    assert ignored.splits == before.splits and ignored.summary()["data_outside_splits_count"] == 15
    added = datamodule(compose_cfg, tmp_path, tmp_path / "data", "msra10k", "dataset.split.new_pairs=add").summary()
    assert sum(added["data_split_sizes"].values()) == 30 and added["data_outside_splits_count"] == 0
    assert added["split_hash"] != before.summary()["split_hash"]


UNDO = {6: Image.Transpose.ROTATE_270, 8: Image.Transpose.ROTATE_90, 3: Image.Transpose.ROTATE_180}


def _upright_pair(d, stem, hw, orientation):
    """An image stored turned with an EXIF tag that turns it upright, and its mask drawn over the
    upright image (as an annotator looking at it in a viewer would)."""
    image, mask = make_sample(np.random.default_rng(5), *hw)
    undo = UNDO[orientation]
    stored = Image.fromarray(image).transpose(
        {
            Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90,
            Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
        }.get(undo, undo)
    )
    exif = Image.Exif()
    exif[0x0112] = orientation
    d.mkdir(parents=True, exist_ok=True)
    stored.save(d / f"{stem}.jpg", quality=95, exif=exif)
    Image.fromarray(mask).save(d / f"{stem}.png")
    return image, mask


@pytest.mark.parametrize("hw, orientation", [((30, 40), 6), ((30, 40), 8), ((32, 32), 6), ((32, 32), 3)])
def test_exif_orientation_is_applied_as_a_viewer_shows_the_image(compose_cfg, tmp_path, hw, orientation):
    d = tmp_path / "data" / "Imgs"
    write_set(d, d, n=9)
    image, mask = _upright_pair(d, "9", hw, orientation)
    decoded = decode_image(d / "9.jpg")
    with Image.open(d / "9.jpg") as raw:  # the stored pixels, turned by hand
        assert raw.size != (hw[1], hw[0]) or orientation == 3 or hw[0] == hw[1]
        assert np.array_equal(decoded, np.asarray(raw.convert("RGB").transpose(UNDO[orientation])))
    err = np.abs(decoded.astype(int) - image.astype(int)).mean()
    assert err < np.abs(np.rot90(decoded, 2).astype(int) - image.astype(int)).mean() / 2  # upright, not turned
    dm = datamodule(compose_cfg, tmp_path, tmp_path / "data")  # the scan, the loaders and the timing agree
    pair = next(p for ds in (dm.train_set, dm.val_set, dm.test_set) for p in ds.pairs if p.stem == "9")
    got_image, got_mask = read_pair(pair)
    assert got_image.shape[:2] == hw and np.array_equal(got_mask, mask > 127)
    assert upright_size(pair.image) == hw


def test_a_file_rewritten_with_its_old_size_and_time_is_read_again(tmp_path):
    d = tmp_path / "Imgs"
    write_set(d, d, n=4)
    pairs = list_pairs(d, d).pairs
    cache = cache_file(tmp_path / "cache", d, d)
    assert scan_pairs(pairs, cache, progress=False).rescanned == 4
    f = d / "2.jpg"
    st = f.stat()
    f.write_bytes(bytes(st.st_size))  # same size, unreadable
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old time
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    again = scan_pairs(pairs, cache, progress=False)
    assert again.rescanned == 1 and [b["stem"] for b in again.bad] == ["2"]


@pytest.mark.parametrize("workers", [0, 2])
def test_a_file_broken_after_the_check_ends_loading_with_one_line_in_any_process(compose_cfg, tmp_path, workers):
    d = tmp_path / "data" / "Imgs"
    write_set(d, d, n=10)
    dm = datamodule(compose_cfg, tmp_path, tmp_path / "data", "msra10k", f"dataset.num_workers={workers}")
    victim = dm.train_set.pairs[0].image
    victim.write_bytes(b"garbage")
    with pytest.raises(DataError) as err:
        for _ in dm.train_dataloader():
            pass
    msg = str(err.value)
    assert (
        "\n" not in msg
        and msg.startswith(f"{victim}: cannot read the image")
        and "changed after the start-up check" in msg
    )
