"""Saliency maps as files: a job saves every test map as an 8-bit PNG in the community's layout,
the saved maps score as PySODMetrics scores them (to 1e-6) and as the job scored them in memory,
and another method's maps are scored on the same test images and stand beside our rows in the
paste table and curves. Bad folders of maps are one line each."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
from PIL import Image

from fcn_ablation import results_layout
from fcn_ablation.data.pairs import Pair, summary_test_pairs
from fcn_ablation.errors import DataError
from fcn_ablation.evaluation.maps import method_name, read_map, score_maps, write_map
from fcn_ablation.evaluation.registry import METRICS

from helpers import run_job, tiny_overrides

pytestmark = pytest.mark.filterwarnings("ignore:This class will be removed")


def pysod_scores(maps_dir, pairs) -> dict:
    """PySODMetrics (`bench.metrics_speed.reference`) on the saved files, read as its users read them
    (OpenCV, greyscale), the masks at the data set's threshold (0.5 of full scale)."""
    from fcn_ablation.bench.metrics_speed import reference

    preds = [cv2.imread(str(maps_dir / f"{p.stem}.png"), cv2.IMREAD_GRAYSCALE) for p in pairs]
    gts = [np.where(cv2.imread(str(p.mask), cv2.IMREAD_GRAYSCALE) >= 128, 255, 0).astype(np.uint8) for p in pairs]
    return reference(preds, gts)


def test_a_job_saves_its_maps_which_score_as_pysodmetrics_and_another_method_joins_the_table(tmp_path, cache_dir):
    maps_root = tmp_path / "maps"
    record = run_job(
        tmp_path / "results" / "runs" / "job", tiny_overrides(tmp_path, cache_dir, f"maps_dir={maps_root}")
    )
    method = method_name("baseline", "scratch", 0)
    folder = results_layout.maps_dir(maps_root, method, "synthetic")
    pairs = summary_test_pairs(record.data, record.config["dataset"])
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{p.stem}.png" for p in pairs)
    for p in pairs:  # 8-bit greyscale, the size of its image
        with Image.open(folder / f"{p.stem}.png") as im, Image.open(p.image) as image:
            assert im.mode == "L" and im.size == image.size
    ours, ref = score_maps(folder, pairs).scores, pysod_scores(folder, pairs)
    for k in METRICS:
        assert ours[k] == pytest.approx(ref[k], abs=1e-6), k  # the same files, the same numbers
        assert record.scores[k] == pytest.approx(ref[k], abs=1e-6), k  # and what the job scored in memory

    # Another method's maps (here: the mask blurred, a stand-in for a published method's) scored
    # beside the table: its row in the paste table, size and speed unknown; its curve drawn.
    from fcn_ablation.commands.maps import main as maps_main

    other = results_layout.maps_dir(maps_root, "blurred_gt", "synthetic")
    for p in pairs:
        mask = np.asarray(Image.open(p.mask).convert("L"), dtype=np.float64) / 255
        write_map(cv2.GaussianBlur(mask, (0, 0), 2), other / f"{p.stem}.png")
    store = results_layout.store_of_record(record.path)
    assert maps_main([str(store), "--set", "synthetic", "--maps", str(maps_root / "blurred_gt")]) == 0
    report = results_layout.report_dir(tmp_path / "results", "synthetic", store.name)
    table = (report / results_layout.TABLE_MD).read_text()
    row = next(line for line in table.splitlines() if line.startswith("| blurred_gt |"))
    assert row.startswith("| blurred_gt | - | - | - | - |") and "mean F" in table and "weighted F" in table
    assert f"{pysod_scores(other, pairs)['max_f']:.3f}" in row
    assert "#Params (M)" in (report / results_layout.TABLE_TEX).read_text()
    set_dir = report / results_layout.TEST_SETS / "synthetic"
    assert (set_dir / results_layout.CURVES_PDF).read_bytes().startswith(b"%PDF")
    assert "blurred_gt" in (set_dir / results_layout.CURVES_CSV).read_text()
    assert "Other methods (scored from their saved maps)" in (set_dir / results_layout.REPORT_MD).read_text()


def _pairs(tmp_path, n: int = 3) -> list[Pair]:
    rng = np.random.default_rng(0)
    (tmp_path / "gt").mkdir()
    (tmp_path / "im").mkdir()
    out = []
    for i in range(n):
        gt = np.zeros((20, 30), np.uint8)
        gt[5:15, 8:20] = 255
        Image.fromarray(gt).save(tmp_path / "gt" / f"img{i}.png")
        Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(tmp_path / "im" / f"img{i}.jpg")
        out.append(Pair(f"img{i}", tmp_path / "im" / f"img{i}.jpg", tmp_path / "gt" / f"img{i}.png"))
    return out


def test_missing_extra_and_missized_maps_are_one_line_each(tmp_path, caplog):
    pairs = _pairs(tmp_path)
    maps = tmp_path / "maps"
    rng = np.random.default_rng(1)
    write_map(rng.random((20, 30)), maps / "img0.png")
    write_map(rng.random((20, 30)), maps / "img1.png")
    with pytest.raises(DataError) as err:  # a method scored on fewer images is not the same test
        score_maps(maps, pairs)
    assert "\n" not in str(err.value) and "no map for 1 of the 3 test images (img2.png)" in str(err.value)
    write_map(rng.random((10, 15)), maps / "img2.png")  # half the size of its mask
    write_map(rng.random((20, 30)), maps / "stray.png")
    with caplog.at_level(logging.WARNING):
        scored = score_maps(maps, pairs)
    lines = [r.getMessage() for r in caplog.records]
    assert any("1 files are no test image of this set" in m and "stray.png" in m for m in lines)
    assert any("1 maps are not the size of their masks and were resized" in m and "img2.png" in m for m in lines)
    assert scored.resized == ["img2.png"] and scored.extra == ["stray"] and len(scored.arrays["names"]) == 3
    with pytest.raises(DataError, match="no such folder of saliency maps"):
        score_maps(tmp_path / "nowhere", pairs)
    (maps / "img1.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="img1.png: not a readable saliency map"):
        score_maps(maps, pairs)


def test_a_map_round_trips_as_8_bit(tmp_path):
    values = np.linspace(0, 1, 256).reshape(16, 16)
    path = write_map(values, tmp_path / "m.png")
    assert np.array_equal(read_map(path), np.round(values * 255).astype(np.uint8))
    assert method_name("a", "first_k from baseline, 2 epochs", 3) == "fcn8s-a-first_k-from-baseline-2-epochs-seed3"
