"""Our torchmetrics F-measure and MAE against PySODMetrics on random maps."""

import numpy as np
import pytest
import torch

from fcn_ablation.metrics import FMeasure, MeanAbsoluteError

py_sod_metrics = pytest.importorskip("py_sod_metrics")


def _random_pairs(seed: int, n: int = 12):
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(n):
        h, w = rng.integers(8, 60, size=2)
        pred = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
        if i % 4 == 1:  # a smooth, partly confident map
            pred = np.clip(rng.normal(128, 60, size=(h, w)), 0, 255).astype(np.uint8)
        if i % 4 == 2:
            pred[:] = 77  # constant map: no min-max normalisation
        gt = (rng.random((h, w)) < rng.uniform(0.05, 0.6)).astype(np.uint8) * 255
        if i == 3:
            gt[:] = 0  # no foreground at all
        pairs.append((pred, gt))
    return pairs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fmeasure_and_mae_match_pysodmetrics(seed):
    ref_f, ref_mae = py_sod_metrics.Fmeasure(), py_sod_metrics.MAE()
    ours_f, ours_mae = FMeasure(), MeanAbsoluteError()
    for pred, gt in _random_pairs(seed):
        ref_f.step(pred=pred, gt=gt)
        ref_mae.step(pred=pred, gt=gt)
        ours_f.update(torch.from_numpy(pred), torch.from_numpy(gt))
        ours_mae.update(torch.from_numpy(pred), torch.from_numpy(gt))
    ref = ref_f.get_results()["fm"]
    got = ours_f.compute()
    assert got["max_f"].item() == pytest.approx(ref["curve"].max(), abs=1e-6)
    assert got["mean_f"].item() == pytest.approx(ref["curve"].mean(), abs=1e-6)
    assert got["adaptive_f"].item() == pytest.approx(ref["adp"], abs=1e-6)
    assert ours_mae.compute().item() == pytest.approx(ref_mae.get_results()["mae"], abs=1e-6)


def test_float_maps_are_quantised_like_a_saved_png():
    rng = np.random.default_rng(5)
    prob = rng.random((20, 30))
    gt = (rng.random((20, 30)) > 0.7).astype(np.uint8) * 255
    ref = py_sod_metrics.Fmeasure()
    ref.step(pred=np.round(prob * 255).astype(np.uint8), gt=gt)
    ours = FMeasure()
    ours.update(torch.from_numpy(prob).float(), torch.from_numpy(gt > 128))
    assert ours.compute()["max_f"].item() == pytest.approx(ref.get_results()["fm"]["curve"].max(), abs=1e-6)


def test_perfect_map_scores_one_and_batches_equal_single_updates():
    gt = torch.zeros(2, 16, 16, dtype=torch.uint8)
    gt[:, 4:10, 3:12] = 255
    batched, single = FMeasure(), FMeasure()
    batched.update(gt.float() / 255, gt)
    for i in range(2):
        single.update(gt[i].float() / 255, gt[i])
    assert batched.compute()["max_f"].item() == pytest.approx(1.0)
    assert batched.compute()["adaptive_f"].item() == pytest.approx(1.0)
    for k, v in batched.compute().items():
        assert v.item() == pytest.approx(single.compute()[k].item())
