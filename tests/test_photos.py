"""Real photographs (issue 32): grey-level masks read at a threshold, any folder of images and masks
(`dataset=folder`), testing at a fixed input size with maps scored at the mask's size, scale
augmentation drawn by the epoch's plan, and the centre prior as every table's floor. The tests on
PASCAL-S itself need `../shared/data` and skip, saying so, where it is absent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fcn_ablation import results_layout
from fcn_ablation.config.checks import validate
from fcn_ablation.data.pairs import Pair, decode_mask, list_pairs, read_pair
from fcn_ablation.errors import ConfigError, DataError
from fcn_ablation.evaluation.heuristics import CENTRE_PRIOR, centre_prior_map, rule_scores

from helpers import ROOT, app_config, cli, run_job, tiny_overrides

PASCAL_S = ROOT.parent / "shared" / "data" / "PASCAL-S"
needs_pascal_s = pytest.mark.skipif(
    not (PASCAL_S / "datasets" / "imgs" / "pascal").is_dir(),
    reason=f"PASCAL-S is not at {PASCAL_S} (the workplace's ../shared/data; a user's clone has none)",
)


def user_folder(tmp_path: Path, n: int = 12, image_ext: str = ".png", grey: bool = True) -> Path:
    """A user's own set: `images/` (PNG photographs by default) and `masks/` with grey-level masks
    (the share of annotators, as PASCAL-S), made from the generated set."""
    from fcn_ablation.data.synthetic import generate

    src = generate(tmp_path / "folder-source", n, 40, seed=7) / "Imgs"
    root = tmp_path / "myset"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for p in sorted(src.glob("*.jpg")):
        Image.open(p).save(root / "images" / f"{p.stem}{image_ext}")
        m = np.asarray(Image.open(src / f"{p.stem}.png"))
        if grey:  # 10 of 12 annotators inside the shape, 3 of 12 on a band beside it
            m = np.where(m > 0, 212, 0).astype(np.uint8)
            m[:, :4] = np.maximum(m[:, :4], 64)
        Image.fromarray(m).save(root / "masks" / f"{p.stem}.png")
    return root


# ----------------------------------------------------------------------------- masks
def test_grey_level_masks_are_salient_at_the_threshold_share_of_full_scale(tmp_path):
    values = np.array([[0, 64, 127, 128, 191, 255]], np.uint8)
    Image.fromarray(values).save(tmp_path / "m.png")
    assert decode_mask(tmp_path / "m.png").tolist() == [[False, False, False, True, True, True]]  # 0.5: 128 and up
    assert decode_mask(tmp_path / "m.png", 0.75).tolist() == [[False, False, False, False, False, True]]
    assert decode_mask(tmp_path / "m.png", 0.25).tolist() == [[False, True, True, True, True, True]]
    sixteen = (values.astype(np.uint16) * 257).astype(np.uint16)
    Image.fromarray(sixteen).save(tmp_path / "m16.png")
    assert decode_mask(tmp_path / "m16.png").tolist() == decode_mask(tmp_path / "m.png").tolist()
    Image.fromarray(np.array([[0, 1, 1]], np.uint8)).save(tmp_path / "b.png")  # 0/1 masks stay as they are
    assert decode_mask(tmp_path / "b.png", 0.9).tolist() == [[False, True, True]]


def test_a_data_set_reads_its_masks_at_its_own_threshold(tmp_path):
    root = user_folder(tmp_path)
    lax, strict = (list_pairs(root / "images", root / "masks", t).pairs for t in (0.2, 0.5))
    _, m_lax = read_pair(lax[0])
    _, m_strict = read_pair(strict[0])
    assert m_lax[:, :4].all() and m_strict.sum() < m_lax.sum()


# ----------------------------------------------------------------------------- the folder config
@pytest.mark.slow
def test_the_folder_config_checks_and_splits_any_folder_of_images_and_masks(tmp_path, cache_dir):
    root = user_folder(tmp_path)
    res = cli("dataset=folder", f"dataset.root={root}", "dataset.split={train:0.5,val:0.25,test:0.25}",
              f"paths.cache_dir={cache_dir}", "timing.loader_images=4", module="fcn_ablation.commands.data", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    split = root / "splits" / "50-25-25-seed0"
    sizes = [len((split / f"{n}.txt").read_text().split()) for n in ("train", "val", "test")]
    assert sum(sizes) == 12 and sizes[0] == 6
    summary = json.loads(res.stdout[res.stdout.index("{") :])
    assert summary["data_pairs_found"] == 12 and summary["mask_threshold"] == 0.5


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["dataset.layouts.0.images=JPEGImages"], "no folder layout found (looked for JPEGImages/"),
        (["dataset.image_exts=[.tif]"], "images/*.tif + masks/*.png"),
        (["dataset.mask_threshold=1.5"], "dataset.mask_threshold: a share of full scale in (0, 1]"),
        (["dataset.image_exts=[jpg]"], "dataset.image_exts: lower-case suffixes with their dot"),
    ],
)
@pytest.mark.slow
def test_a_bad_folder_is_one_line_naming_what_to_fix(tmp_path, cache_dir, overrides, message):
    root = user_folder(tmp_path, n=4)
    res = cli("dataset=folder", f"dataset.root={root}", f"paths.cache_dir={cache_dir}", *overrides,
              module="fcn_ablation.commands.data", cwd=tmp_path)  # fmt: skip
    assert res.returncode != 0
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], res.stderr[-1500:]


def test_a_folder_in_another_layout_is_found_by_its_folders_and_suffixes(tmp_path, cache_dir):
    root = user_folder(tmp_path, n=6, image_ext=".bmp")
    (root / "images").rename(root / "JPEGImages")
    (root / "masks").rename(root / "GT")
    (root / "GT" / "notes.png").write_bytes(b"")  # a stray mask without an image: named, not fatal
    cfg = app_config(tiny_overrides(tmp_path, cache_dir, "dataset=folder", f"dataset.root={root}",
                                    "dataset.layouts.0.images=JPEGImages", "dataset.layouts.0.masks=GT",
                                    "dataset.image_exts=[.bmp]", "dataset.mask_exts=[.png]"))  # fmt: skip
    validate(cfg, training=False)
    from fcn_ablation.data.datamodule import SaliencyDataModule

    dm = SaliencyDataModule(cfg.dataset, cache_dir, progress=False)
    dm.setup()
    assert len(dm.test_set) == 6 and dm.summary()["data_layout"] == {"images": "JPEGImages", "masks": "GT"}
    assert dm.summary()["data_masks_without_image"] == 1


@pytest.mark.slow
def test_a_stored_model_is_scored_on_a_folder_with_no_other_configuration(tmp_path, cache_dir):
    record = run_job(tmp_path / "results" / "runs" / "job", tiny_overrides(tmp_path, cache_dir))
    root = user_folder(tmp_path)
    res = cli(f"models=[{record.settings_key}]", "dataset=folder", f"dataset.root={root}",
              f"paths.results_dir={tmp_path}/results", f"paths.cache_dir={cache_dir}", "progress=false",
              "accelerator=cpu", "report=false", module="fcn_ablation.evaluate", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    from fcn_ablation.store import filing, tested

    results = tested.results_of(filing.read_record(record.path))
    assert results["folder"].test_images == 12 and 0 <= results["folder"].scores["max_f"] <= 1
    assert results["folder"].data["eval_input"] == "native"  # as the model was tested when it trained
    # At another input size it is another test, not one done already; a bad size is one line.
    from test_test_sets import evaluate_config

    from fcn_ablation.commands.evaluate import evaluate

    over = [f"models=[{record.settings_key}]", "dataset=folder", f"dataset.root={root}", "progress=false",
            f"paths.results_dir={tmp_path}/results", f"paths.cache_dir={cache_dir}", "accelerator=cpu"]  # fmt: skip
    done, _ = evaluate(evaluate_config([*over, "eval_size=[24,24]"]))
    ((_, entry, filed),) = next(iter(done.values()))
    assert filed is not None and entry.data["eval_input"] == "24x24" and entry.test_images == 12
    with pytest.raises(ConfigError, match="eval_size: trained, native or"):
        evaluate(evaluate_config([*over, "eval_size=[0,24]"]))


# ----------------------------------------------------------------------------- testing at a fixed size
@pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`")  # the step is called here without a Trainer
def test_eval_size_resizes_the_image_only_and_the_map_is_scored_at_the_mask_size(tmp_path, cache_dir):
    from fcn_ablation.data.datamodule import SaliencyDataModule
    from fcn_ablation.models.fcn8s import FCN8s
    from fcn_ablation.models.widths import build_widths
    from fcn_ablation.training.module import SaliencyModule

    root = user_folder(tmp_path, n=8)
    cfg = app_config(tiny_overrides(tmp_path, cache_dir, "dataset=folder", f"dataset.root={root}",
                                    "dataset.eval_size=[24,36]"))  # fmt: skip
    dm = SaliencyDataModule(cfg.dataset, cache_dir, progress=False)
    dm.setup()
    item = dm.test_set[0]
    assert tuple(item["image"].shape) == (3, 24, 36) and tuple(item["mask"].shape) == (40, 40)
    assert dm.summary()["eval_input"] == "24x36"
    module = SaliencyModule(FCN8s(build_widths({}, 0.03125)), optimizer=None)
    batch = dm.on_after_batch_transfer(next(iter(dm.test_dataloader())), 0)
    module.eval()
    with torch.no_grad():
        sal = module._evaluate(batch, module.test_metrics, "test")
    assert tuple(sal.shape) == (1, 40, 40)  # at the mask's own size
    expected = torch.nn.functional.interpolate(module(batch["image"]), size=(40, 40), mode="bilinear").softmax(1)[:, 1]
    torch.testing.assert_close(sal, expected)


def test_a_test_set_is_seen_at_the_training_sets_eval_size(tmp_path):
    from fcn_ablation.config.datasets import section_of_test_set

    cfg = app_config(["dataset.eval_size=[64,64]"])
    section = section_of_test_set(cfg.dataset, "folder", {"root": str(tmp_path)})
    assert list(section.eval_size) == [64, 64]


# ----------------------------------------------------------------------------- scale augmentation
def test_crops_are_drawn_by_the_epoch_plan_and_lie_inside_the_image():
    from fcn_ablation.data.sampling import EpochPlan
    from fcn_ablation.data.transforms import PairTransform

    plan = EpochPlan(20, seed=1, flip=True, crop_scale=[0.5, 0.9])
    assert plan.plan(3) == EpochPlan(20, seed=1, flip=True, crop_scale=[0.5, 0.9]).plan(3) != plan.plan(4)
    shares = [c[0] for _, _, c in plan.plan(3)]
    assert min(shares) >= 0.5 and max(shares) <= 0.9 and len(set(shares)) == 20
    assert [i for i, _, _ in plan.plan(3)] == [i for i, _ in EpochPlan(20, seed=1, flip=True).plan(3)]
    image = np.arange(40 * 60 * 3, dtype=np.uint8).reshape(40, 60, 3)
    mask = np.zeros((40, 60), np.uint8)
    mask[30:, 50:] = 1
    t = PairTransform([0, 0, 0], "resize", (20, 20))
    x, y = t(image, mask, crop=(0.5, 1.0, 1.0))  # the bottom-right quarter (20x30): the mask's 10x10 corner in it
    assert tuple(x.shape) == (3, 20, 20) and float(y.float().mean()) == pytest.approx(1 / 6, abs=0.02)
    assert y[-1, -1] == 1 and y[0, 0] == 0
    x, y = t(image, mask, crop=(0.5, 0.0, 0.0))  # the top-left quarter: no salient pixel
    assert y.sum() == 0


def test_bad_crop_scale_is_a_config_error():
    with pytest.raises(ConfigError, match="dataset.crop_scale"):
        validate(app_config(["dataset.crop_scale=[0.8,0.5]"]))


# ----------------------------------------------------------------------------- the centre prior
def test_the_centre_prior_peaks_at_the_centre_and_is_scored_like_the_network(tmp_path):
    g = centre_prior_map(5, 7)
    assert g.shape == (5, 7) and g[2, 3] == 1.0 and np.allclose(g, g[::-1, ::-1]) and g.min() > 0
    root = user_folder(tmp_path, n=6)
    pairs = list_pairs(root / "images", root / "masks").pairs
    scores = rule_scores(pairs, [CENTRE_PRIOR])[CENTRE_PRIOR]
    from py_sod_metrics import MAE, Fmeasure

    fm, mae = Fmeasure(), MAE()
    for p in pairs:
        _, mask = read_pair(p)
        pred = (centre_prior_map(*mask.shape) * 255).round().astype(np.uint8)
        fm.step(pred=pred, gt=mask.astype(np.uint8) * 255)
        mae.step(pred=pred, gt=mask.astype(np.uint8) * 255)
    assert scores["max_f"] == pytest.approx(fm.get_results()["fm"]["curve"].max(), abs=2e-3)
    assert scores["mae"] == pytest.approx(mae.get_results()["mae"], abs=2e-3)


@pytest.mark.slow
def test_every_report_and_paste_table_has_the_centre_prior_row(tmp_path):
    cache = tmp_path / "own-cache"  # its data is deleted below
    record = run_job(tmp_path / "results" / "runs" / "job", tiny_overrides(tmp_path, cache))
    from fcn_ablation.reporting.report import write_report

    out = write_report(results_layout.store_of_record(record.path), tmp_path / "results", permutations=100)
    kept = json.loads((out / "test_sets" / "synthetic" / "centre_prior.json").read_text())
    assert kept["split_hash"] == record.split_hash and kept["test_images"] == record.test_images
    report = (out / "report.md").read_text()
    row = next(ln for ln in report.splitlines() if ln.startswith("| centre prior"))
    assert f"{kept['scores']['max_f']:.4f}" in row
    assert "The baseline clears it by" in report
    assert (out / "table.md").read_text().strip().splitlines()[-1].startswith("| *centre prior*")
    assert "\\textit{centre prior}" in (out / "table.tex").read_text()
    # Rebuilt where the images are gone: the kept file serves.
    shutil.rmtree(Path(record.data["data_root"]))
    out = write_report(results_layout.store_of_record(record.path), tmp_path / "results", permutations=100)
    assert any(ln.startswith("| centre prior") for ln in (out / "report.md").read_text().splitlines())


# ----------------------------------------------------------------------------- PASCAL-S
@pytest.mark.slow
@needs_pascal_s
def test_pascal_s_splits_into_train_val_test_through_its_config(tmp_path):
    cache = tmp_path / "cache"
    res = cli("dataset=pascal_s", f"dataset.root={PASCAL_S}", "dataset.split={train:0.7,val:0.1,test:0.2}",
              f"paths.cache_dir={cache}", "timing.loader_images=4", module="fcn_ablation.commands.data", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    cfg = app_config(["dataset=pascal_s", f"dataset.root={PASCAL_S}", "dataset.split={train:0.7,val:0.1,test:0.2}",
                      f"paths.cache_dir={cache}"])  # fmt: skip
    from fcn_ablation.data.datamodule import SaliencyDataModule, written_split_hash

    dm = SaliencyDataModule(cfg.dataset, str(cache), progress=False)
    dm.setup()
    s = dm.summary()
    assert s["data_split_sizes"] == {"train": 595, "val": 85, "test": 170} and s["data_pairs_found"] == 850
    assert written_split_hash(cfg.dataset, str(cache)) == s["split_hash"]
    names = set(Path(s["split_files"][2]).read_text().split())
    assert len(names) == 170 and not names & set(Path(s["split_files"][0]).read_text().split())
    # grey-level masks at 0.5: a mask of the set has pixels at 128 (6 of 12 subjects), counted salient
    pair = next(p for p in dm.test_set.pairs)
    raw = np.asarray(Image.open(pair.mask))
    _, mask = read_pair(pair)
    assert np.array_equal(mask, raw >= 128)


@pytest.mark.slow
@needs_pascal_s
def test_the_photo_preset_trains_and_tests_on_pascal_s(tmp_path):
    """One short job at the preset's input size on PASCAL-S: the record says how it was tested."""
    over = ["preset=cpu_photo", "dataset=pascal_s", f"dataset.root={PASCAL_S}",
            "dataset.split={train:0.7,val:0.1,test:0.2}", f"paths.results_dir={tmp_path}/results",
            f"paths.cache_dir={tmp_path}/cache", "logger=none", "trainer.enable_progress_bar=false",
            "trainer.max_epochs=1", "+trainer.limit_train_batches=4", "+trainer.limit_val_batches=2",
            "timing.max_images=4", "timing.warmup=0", "report.rounds=2", "report.warmup=0",
            "report.permutations=100", "test_on=[pascal_s,folder]", f"+test_data.folder.root={tmp_path / 'few'}"]  # fmt: skip
    few = tmp_path / "few"
    (few / "images").mkdir(parents=True)
    (few / "masks").mkdir()
    for stem in ("1", "2", "3"):
        shutil.copy(PASCAL_S / "datasets" / "imgs" / "pascal" / f"{stem}.jpg", few / "images")
        shutil.copy(PASCAL_S / "datasets" / "masks" / "pascal" / f"{stem}.png", few / "masks")
    record = run_job(tmp_path / "results" / "runs" / "job", over)
    assert record.test_images == 170 and record.data["eval_input"] != "native"
    assert record.test_sets["folder"].test_images == 3
    assert record.test_sets["folder"].data["eval_input"] == record.data["eval_input"]
    assert record.test_image_hw == [int(v) for v in record.data["eval_input"].split("x")]


def test_pair_default_threshold_is_the_communitys():
    assert Pair("x", Path("x.jpg"), Path("x.png")).mask_threshold == 0.5
    with pytest.raises(DataError):
        read_pair(Pair("x", Path("/nonexistent.jpg"), Path("/nonexistent.png")))
