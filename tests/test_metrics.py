"""Our torchmetrics saliency metrics against PySODMetrics (current classes) to 1e-6: random maps,
realistic ones (blobs with soft edges), empty and full masks, constant maps."""

import numpy as np
import pytest
import torch

from fcn_ablation.evaluation.metrics import (
    EMeasure,
    FMeasure,
    MeanAbsoluteError,
    SaliencyMetrics,
    SMeasure,
    WeightedFMeasure,
    all_metrics,
)

py_sod_metrics = pytest.importorskip("py_sod_metrics")


def _blob(rng, h, w):
    """A soft-edged disc and its mask: what a trained network's map of an object looks like."""
    yy, xx = np.mgrid[:h, :w]
    cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(2, max(h, w) / 2)
    d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
    gt = ((d < r) * 255).astype(np.uint8)
    pred = np.clip(255 / (1 + np.exp((d - r) / rng.uniform(1, 5))) + rng.normal(0, 15, d.shape), 0, 255).astype(
        np.uint8
    )
    return pred, gt


def _pairs(seed: int, n: int = 16):
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(n):
        h, w = (int(v) for v in rng.integers(8, 60, size=2))
        if i % 4 == 0:  # noise
            pred = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
            gt = (rng.random((h, w)) < rng.uniform(0.05, 0.6)).astype(np.uint8) * 255
        else:
            pred, gt = _blob(rng, h, w)
        if i == 3:
            gt[:] = 0  # no foreground at all
        if i == 5:
            gt[:] = 255  # all foreground
        if i == 6:
            pred[:] = 77  # constant map: no min-max normalisation
        if i == 7:
            pred[:] = 0
        if i == 9:
            gt[:], pred[:] = 0, 0
        pairs.append((pred, gt))
    return pairs


def _reference(pairs):
    f = py_sod_metrics.FmeasureV2(
        {"f": py_sod_metrics.FmeasureHandler(with_dynamic=True, with_adaptive=True, beta=0.3)}
    )
    e, s, wf, mae = (
        py_sod_metrics.Emeasure(),
        py_sod_metrics.Smeasure(alpha=0.5),
        py_sod_metrics.WeightedFmeasure(beta=1),
        py_sod_metrics.MAE(),
    )
    for pred, gt in pairs:
        for m in (f, e, s, wf, mae):
            m.step(pred=pred, gt=gt)
    fr, er = f.get_results()["f"], e.get_results()["em"]
    means = {
        "max_f": fr["dynamic"].max(), "mean_f": fr["dynamic"].mean(), "adaptive_f": fr["adaptive"],
        "max_e": er["curve"].max(), "mean_e": er["curve"].mean(), "adaptive_e": er["adp"],
        "s_measure": s.get_results()["sm"], "weighted_f": wf.get_results()["wfm"], "mae": mae.get_results()["mae"],
    }  # fmt: skip
    per_image = {"s_measure": np.array(s.sms), "weighted_f": np.array(wf.weighted_fms), "mae": np.array(mae.maes),
                 "e_curve": np.array(e.changeable_ems), "adaptive_e": np.array(e.adaptive_ems)}  # fmt: skip
    return means, per_image


def _ours(pairs, one_by_one: bool = False):
    metrics = all_metrics()
    preds, gts = [torch.from_numpy(p) for p, _ in pairs], [torch.from_numpy(g) for _, g in pairs]
    for m in metrics.values():
        if one_by_one:
            for p, g in zip(preds, gts):
                m.update(p, g)
        else:
            m.update(preds, gts)  # a list of sizes: grouped, stacked, returned in input order
    out = {**metrics["f"].compute(), **metrics["e"].compute(), "s_measure": metrics["s"].compute(),
           "weighted_f": metrics["wf"].compute(), "mae": metrics["mae"].compute()}  # fmt: skip
    per_image = {k: v for m in metrics.values() for k, v in m.per_image().items()}
    return {k: float(v) for k, v in out.items()}, per_image


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_every_metric_matches_pysodmetrics(seed):
    pairs = _pairs(seed)
    ref, ref_per_image = _reference(pairs)
    got, per_image = _ours(pairs)
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, abs=1e-6), k
    for k, v in ref_per_image.items():  # the values the report's paired tests resample
        np.testing.assert_allclose(per_image[k].numpy(), v, atol=1e-6, err_msg=k)
    # What a run scores with: every metric in one update, the same numbers.
    together = SaliencyMetrics()
    together.update([torch.from_numpy(p) for p, _ in pairs], [torch.from_numpy(g) for _, g in pairs])
    for k, v in together.compute().items():
        assert float(v) == pytest.approx(ref[k], abs=1e-6), k


def test_realistic_maps_at_a_real_size_and_single_updates_agree():
    rng = np.random.default_rng(7)
    pairs = [_blob(rng, 120, 160) for _ in range(6)]
    ref, _ = _reference(pairs)
    got, _ = _ours(pairs, one_by_one=True)
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, abs=1e-6), k


def test_float_maps_are_quantised_like_a_saved_png():
    rng = np.random.default_rng(5)
    prob = rng.random((20, 30))
    gt = (rng.random((20, 30)) > 0.7).astype(np.uint8) * 255
    ref, _ = _reference([(np.round(prob * 255).astype(np.uint8), gt)])
    f, s = FMeasure(), SMeasure()
    for m in (f, s):
        m.update(torch.from_numpy(prob).float(), torch.from_numpy(gt > 128))
    assert f.compute()["max_f"].item() == pytest.approx(ref["max_f"], abs=1e-6)
    assert s.compute().item() == pytest.approx(ref["s_measure"], abs=1e-6)


def test_a_perfect_map_scores_one_and_batches_equal_single_updates():
    gt = torch.zeros(2, 16, 16, dtype=torch.uint8)
    gt[:, 4:10, 3:12] = 255
    for cls in (FMeasure, EMeasure, SMeasure, WeightedFMeasure, MeanAbsoluteError):
        batched, single = cls(), cls()
        batched.update(gt.float() / 255, gt)
        for i in range(2):
            single.update(gt[i].float() / 255, gt[i])
        b, s = batched.compute(), single.compute()
        b, s = (b, s) if isinstance(b, dict) else ({"v": b}, {"v": s})
        for k in b:
            assert b[k].item() == pytest.approx(s[k].item())
            if not k.startswith("mean_"):  # a mean over thresholds counts the threshold 0 too
                # E divides by (pixels - 1), as the MATLAB original: a perfect map scores 256 / 255 here.
                best = {MeanAbsoluteError: 0.0, EMeasure: 256 / 255}.get(cls, 1.0)
                assert b[k].item() == pytest.approx(best, abs=1e-9), (cls.__name__, k)


def test_shapes_that_differ_are_refused():
    with pytest.raises(ValueError, match="differ in size"):
        FMeasure().update(torch.zeros(4, 5), torch.zeros(5, 4, dtype=torch.uint8))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_curves_match_pysodmetrics_curve_outputs(seed):
    """The report's curves (`mean_curves`): PySODMetrics' own precision and recall arrays and F
    curve (`Fmeasure`, the PR-curve class) and E curve (`Emeasure`), to 1e-6, thresholds in its order."""
    from fcn_ablation.evaluation.metrics import mean_curves

    pairs = _pairs(seed) + [_blob(np.random.default_rng(seed), 90, 70)]
    fm, em = py_sod_metrics.Fmeasure(), py_sod_metrics.Emeasure()
    for pred, gt in pairs:
        fm.step(pred=pred, gt=gt)
        em.step(pred=pred, gt=gt)
    fr, er = fm.get_results(), em.get_results()
    ours = SaliencyMetrics()
    ours.update([torch.from_numpy(p) for p, _ in pairs], [torch.from_numpy(g) for _, g in pairs])
    curves = mean_curves({k: v.numpy() for k, v in ours.per_image().items()})
    for name, ref in (("precision", fr["pr"]["p"]), ("recall", fr["pr"]["r"]), ("f", fr["fm"]["curve"]),
                      ("e", er["em"]["curve"])):  # fmt: skip
        assert curves[name].shape == (256,)
        np.testing.assert_allclose(curves[name], ref, atol=1e-6, err_msg=name)
