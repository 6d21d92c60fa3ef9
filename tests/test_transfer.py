"""Initialisation and transfer: the paper's kernel copy and its alternatives, ImageNet VGG16 in
torchvision's format, the input-normalisation fold, and the paper's recipe."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from fcn_ablation import results_layout
from fcn_ablation.config.folder import config_dir
from fcn_ablation.config.settings_key import settings_key
from fcn_ablation.data.transforms import Normalise
from fcn_ablation.errors import ConfigError, DataError
from fcn_ablation.models.arch import WIDTH_LAYERS
from fcn_ablation.models.choices import InitSource, TransferRule
from fcn_ablation.models.fcn8s import FCN8s
from fcn_ablation.models.transfer import choose_kernels, transfer
from fcn_ablation.models.vgg16 import TORCHVISION_INPUT, fold_input, load_vgg16
from fcn_ablation.models.widths import build_widths, layer_factors
from fcn_ablation.store.record import Record
from fcn_ablation.training.initialise import effective_source, initialise, input_space
from fcn_ablation.training.job import make_module, optimizer_config, plan_job

from helpers import app_config

EXPERIMENTS = sorted(p.stem for p in (Path(config_dir()) / "experiment").glob("*.yaml"))
RULES = [r.value for r in TransferRule]
M = 1 / 16


def widths_of(compose_cfg, experiment, multiplier=M):
    cfg = compose_cfg([f"experiment={experiment}"])
    return build_widths(layer_factors(cfg.experiment.halve, cfg.experiment.factors), multiplier)


def randomised(net):
    torch.manual_seed(1)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.1)
    return net


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_is_cut_from_the_baseline_with_every_rule(compose_cfg, experiment, rule):
    src = randomised(FCN8s(widths_of(compose_cfg, "baseline")))
    dst = FCN8s(widths_of(compose_cfg, experiment))
    state = src.state_dict()
    kept = transfer(state, dst, rule, seed=3)
    prev = torch.arange(3)
    for name in WIDTH_LAYERS:
        idx = torch.tensor(kept[name])
        assert len(idx) == dst.widths[name] and (idx.diff() > 0).all() and idx.max() < src.widths[name]
        if dst.widths[name] == src.widths[name] or rule == "first_k":
            assert idx.tolist() == list(range(dst.widths[name]))  # equal width: whole; first_k: a prefix
        assert torch.equal(getattr(dst, name).weight, state[f"{name}.weight"][idx][:, prev])
        assert torch.equal(getattr(dst, name).bias, state[f"{name}.bias"][idx])
        prev = idx
    assert torch.equal(dst.score_pool3.weight, state["score_pool3.weight"][:, kept["conv3_3"]])
    assert torch.equal(dst.score_fr.weight, state["score_fr.weight"][:, kept["fc7"]])
    assert torch.equal(dst.upscore8.weight, state["upscore8.weight"])


@pytest.mark.parametrize("rule", RULES)
def test_at_equal_width_every_rule_reproduces_the_source_exactly(compose_cfg, rule):
    widths = widths_of(compose_cfg, "c")
    src, dst = randomised(FCN8s(widths)).eval(), FCN8s(widths).eval()
    transfer(src.state_dict(), dst, rule, seed=5)
    x = torch.randn(2, 3, 40, 56)
    with torch.no_grad():
        assert torch.equal(dst(x), src(x))


def test_l1_norm_keeps_the_largest_kernels_and_the_next_layer_follows():
    w = torch.zeros(5, 2, 3, 3)
    for i, norm in enumerate([3.0, 1.0, 5.0, 2.0, 4.0]):
        w[i, 0, 0, 0] = norm if i % 2 else -norm  # L1, so the sign does not matter
    assert choose_kernels(w, 3, "l1_norm", torch.Generator()).tolist() == [0, 2, 4]
    assert choose_kernels(w, 3, "first_k", torch.Generator()).tolist() == [0, 1, 2]
    r = choose_kernels(w, 3, "random", torch.Generator().manual_seed(0))
    assert (
        r.tolist() == choose_kernels(w, 3, "random", torch.Generator().manual_seed(0)).tolist()
        and len(set(r.tolist())) == 3
    )
    # In a network: make conv1_2's kernels 1, 3 and 6 the heaviest; conv2_1 must read exactly those.
    src_w = {n: 8 for n in WIDTH_LAYERS}
    src = randomised(FCN8s(src_w))
    with torch.no_grad():
        src.conv1_2.weight[[1, 3, 6]] *= 100
    dst = FCN8s({**src_w, "conv1_2": 3})
    kept = transfer(src.state_dict(), dst, "l1_norm")
    assert kept["conv1_2"] == [1, 3, 6]
    assert torch.equal(dst.conv2_1.weight, src.conv2_1.weight[:, [1, 3, 6]])


def test_a_transfer_cannot_widen(compose_cfg):
    src = FCN8s(widths_of(compose_cfg, "a"))
    with pytest.raises(ConfigError, match="conv1_1 has 4 kernels here but only 2 in the source"):
        transfer(src.state_dict(), FCN8s(widths_of(compose_cfg, "baseline")), "first_k")


def torchvision_vgg16_state() -> dict[str, torch.Tensor]:
    """Random values under the real key names and shapes of torchvision's `vgg16`."""
    from fcn_ablation.models.vgg16 import stand_in_state

    return stand_in_state(0)


@pytest.fixture(scope="module")
def vgg16_file(tmp_path_factory):
    """A torchvision-format VGG16 file (553 MB), written once for the tests that load one."""
    sd = torchvision_vgg16_state()
    path = tmp_path_factory.mktemp("vgg16") / "vgg16.pth"
    torch.save(sd, path)
    return path, sd


def test_imagenet_vgg16_in_torchvision_format_initialises_a_narrow_model(compose_cfg, vgg16_file):
    path, sd = vgg16_file
    cfg = compose_cfg(["init=imagenet", f"init.path={path}", "experiment=b"])
    net = FCN8s(widths_of(compose_cfg, "b"))
    info = initialise(net, plan_job(cfg).start, cfg.init, input_space(cfg.dataset))
    assert info["tag"] == "first_k from imagenet" and info["origin"] == str(path)
    for scorer in ("score_fr", "score_pool4", "score_pool3"):  # zero on a pretrained trunk, as Caffe FCN
        assert not getattr(net, scorer).weight.any() and not getattr(net, scorer).bias.any()
    assert FCN8s(widths_of(compose_cfg, "b")).score_fr.weight.any()  # random from scratch
    w = net.widths
    assert torch.equal(net.conv2_1.weight, sd["features.5.weight"][: w["conv2_1"], : w["conv1_2"]])
    assert torch.equal(net.conv5_3.bias, sd["features.28.bias"][: w["conv5_3"]])
    fc6 = sd["classifier.0.weight"].view(4096, 512, 7, 7)  # the standard FCN conversion
    assert torch.equal(net.fc6.weight, fc6[: w["fc6"], : w["conv5_3"]])
    assert torch.equal(net.fc7.weight[:, :, 0, 0], sd["classifier.3.weight"][: w["fc7"], : w["fc6"]])
    # conv1_1 took the input normalisation: checked against torchvision's own input below.
    x255 = torch.rand(1, 3, 20, 24) * 255
    ours = Normalise(cfg.dataset.mean, cfg.dataset.std, cfg.dataset.channel_order)(x255)
    theirs = Normalise(TORCHVISION_INPUT["mean"], TORCHVISION_INPUT["std"])(x255)
    ref = F.conv2d(theirs, sd["features.0.weight"][: w["conv1_1"]], sd["features.0.bias"][: w["conv1_1"]])
    assert torch.allclose(F.conv2d(ours, net.conv1_1.weight, net.conv1_1.bias), ref, atol=1e-4)


@pytest.mark.slow
def test_imagenet_weights_come_from_the_url_into_the_torch_hub_cache_once(vgg16_file, tmp_path, monkeypatch):
    from fcn_ablation.errors import DataError

    path, sd = vgg16_file
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    published = tmp_path / "server" / f"vgg16-{digest[:8]}.pth"  # torchvision's naming: the hash prefix checked
    published.parent.mkdir()
    os.link(path, published)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    state, origin = load_vgg16(None, published.as_uri())
    cached = tmp_path / "torch" / "hub" / "checkpoints" / published.name
    assert origin == published.as_uri() and cached.stat().st_size == path.stat().st_size
    assert torch.equal(state["conv3_2.weight"], sd["features.12.weight"])
    assert torch.equal(state["fc6.weight"], sd["classifier.0.weight"].view(4096, 512, 7, 7))
    published.unlink()  # the server gone: the cache serves
    assert torch.equal(load_vgg16(None, published.as_uri())[0]["fc7.bias"], sd["classifier.3.bias"])
    tampered = tmp_path / "server" / "vgg16-00000000.pth"
    os.link(path, tampered)
    with pytest.raises(DataError, match=r"vgg16-00000000.pth: cannot load VGG16 weights .*pass init.path="):
        load_vgg16(None, tampered.as_uri())
    assert not (tmp_path / "torch" / "hub" / "checkpoints" / tampered.name).exists()  # a bad file is not cached


@pytest.mark.parametrize("order", ["rgb", "bgr"])
def test_the_input_fold_is_exact_in_any_channel_order(order):
    state = {"conv1_1.weight": torch.randn(4, 3, 3, 3), "conv1_1.bias": torch.randn(4)}
    src = {"channel_order": "rgb", "mean": [120.0, 110.0, 100.0], "std": [60.0, 50.0, 40.0]}
    dst = {"channel_order": order, "mean": [122.7, 116.7, 104.0], "std": [1.0, 1.0, 1.0]}
    w0, b0 = state["conv1_1.weight"].clone(), state["conv1_1.bias"].clone()
    fold_input(state, src, dst)
    x255 = torch.rand(2, 3, 9, 9) * 255
    before = F.conv2d(Normalise(src["mean"], src["std"])(x255), w0, b0)
    after = F.conv2d(Normalise(dst["mean"], dst["std"], order)(x255), state["conv1_1.weight"], state["conv1_1.bias"])
    assert torch.allclose(before, after, atol=1e-4)


def test_a_wrong_weights_file_is_a_clear_error(compose_cfg, tmp_path):
    from fcn_ablation.errors import DataError

    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    net = FCN8s(widths_of(compose_cfg, "baseline"))
    with pytest.raises(DataError, match=r"bad.pth: no 'features.0.bias'; expected torchvision's vgg16"):
        initialise(
            net, InitSource.imagenet, compose_cfg(["init=imagenet", f"init.path={tmp_path / 'bad.pth'}"]).init, {}
        )
    with pytest.raises(DataError, match="nothere.pth: VGG16 weights file not found"):
        initialise(
            net, InitSource.imagenet, compose_cfg(["init=imagenet", f"init.path={tmp_path / 'nothere.pth'}"]).init, {}
        )


def test_the_paper_recipe_is_caffe_fcn(compose_cfg):
    cfg = compose_cfg(["preset=paper"])
    assert (cfg.optimizer._target_, cfg.optimizer.lr, cfg.optimizer.momentum, cfg.optimizer.weight_decay) == (
        "torch.optim.SGD",
        1e-14,
        0.99,
        5e-4,
    )
    assert cfg.optimizer.loss_reduction == "sum" and cfg.dataset.batch_size == 1 and cfg.trainer.max_steps == 100_000
    assert cfg.dataset.channel_order.value == "bgr" and not cfg.model.learn_upsampling
    assert (cfg.init.source.value, cfg.init.baseline_from.value, cfg.init.rule.value) == (
        "baseline",
        "imagenet",
        "first_k",
    )
    assert cfg.model.width_multiplier == 1.0 and cfg.trainer.accelerator == "gpu" and cfg.timing.best_benchmarked
    # BGR input minus the Caffe mean (104.01, 116.67, 122.68 in BGR).
    x = Normalise(cfg.dataset.mean, cfg.dataset.std, cfg.dataset.channel_order)(
        torch.tensor([10, 20, 30], dtype=torch.uint8).view(3, 1, 1)
    )
    assert torch.allclose(x.flatten(), torch.tensor([30 - 104.00698793, 20 - 116.66876762, 10 - 122.67891434]))
    # Biases at twice the learning rate, without decay; the frozen deconvolutions not trained at all.
    module = make_module(
        FCN8s(widths_of(compose_cfg, "baseline")), optimizer_config(cfg.optimizer, effective_source(cfg.init, False))
    )
    weights, biases = module.configure_optimizers().param_groups
    assert (weights["lr"], weights["weight_decay"]) == (1e-14, 5e-4) and (biases["lr"], biases["weight_decay"]) == (
        2e-14,
        0.0,
    )
    assert len(weights["params"]) == 18 and len(biases["params"]) == 18  # 15 trunk + 3 scorers each


def test_at_once_scaling_scales_pool4_and_pool3_before_their_scorers(compose_cfg):
    net = randomised(FCN8s(widths_of(compose_cfg, "baseline"), at_once_scaling=True)).eval()
    seen = {}
    net.score_pool4.register_forward_hook(lambda m, i, o: seen.__setitem__("in4", i[0]))
    net.score_pool3.register_forward_hook(lambda m, i, o: seen.__setitem__("in3", i[0]))
    net.conv4_3.register_forward_hook(lambda m, i, o: seen.__setitem__("c4", o))
    net.conv3_3.register_forward_hook(lambda m, i, o: seen.__setitem__("c3", o))
    with torch.no_grad():
        net(torch.randn(1, 3, 32, 32))
    assert torch.allclose(seen["in4"], net.pool(torch.relu(seen["c4"])) * 0.01)
    assert torch.allclose(seen["in3"], net.pool(torch.relu(seen["c3"])) * 0.0001)


def test_report_rows_name_the_start_and_a_budget_that_differs_from_the_tables():
    from fcn_ablation.store.filing import row_label

    def record(source, experiment_changed, epochs, tag):
        config = {
            "init": {"source": source, "baseline_from": "scratch", "epochs": epochs},
            "trainer": {"max_epochs": 7},
        }
        return Record("x", "t", config=config, changed_layers=["fc7"] if experiment_changed else [], init_tag=tag)

    assert row_label(record("scratch", True, None, "scratch")) == "scratch"
    assert row_label(record("scratch", True, 2, "scratch")) == "scratch, 2 epochs"  # never passes for 7
    assert row_label(record("baseline", True, 2, "first_k from baseline")) == "first_k from baseline, 2 epochs"
    assert row_label(record("baseline", False, 2, "scratch")) == "scratch"  # the baseline trains its own budget
    assert row_label(record("scratch", True, 7, "scratch")) == "scratch"
    assert row_label(Record("x", "t")) == "scratch"  # records older than init


def test_variants_and_the_report_measure_against_a_baseline_trained_from_its_own_start(tmp_path):
    from fcn_ablation.reporting.report import table
    from fcn_ablation.store import filing
    from fcn_ablation.training.initialise import find_baseline

    def app_cfg(*overrides):
        return app_config(["init=baseline", f"paths.results_dir={tmp_path / 'results'}", *overrides])

    cfg = app_cfg()
    split = "0123456789abcdef"
    store = results_layout.store_dir(cfg.paths.results_dir, cfg.dataset.name, settings_key(cfg, split))

    def baseline(created, source, max_f, epochs=None, tag=None, seed=0):
        out = tmp_path / "results" / "runs" / created  # job folders lie inside the results folder
        out.mkdir(parents=True)
        (out / "model.pt").write_bytes(b"weights")
        config = {
            "init": {"source": source, "baseline_from": "scratch", "epochs": epochs},
            "trainer": {"max_epochs": 7},
        }
        measured = {"detection_total_s": 1.0, "detection_ms_per_image": 10.0, "params": 1e6, "macs": 1e9, "test_images": 60,
                    "device": "cpu"}  # fmt: skip
        record = Record(experiment="baseline", created=created, output_dir=str(out), changed_layers=[],
                        init={"source": source}, init_tag=tag or source, config=config, seed=seed,
                        scores={"max_f": max_f, "mean_f": 0.5, "adaptive_f": 0.5, "mae": 0.1}, **measured)  # fmt: skip
        filing.write_json(store / f"baseline-{created}.json", record.to_json())
        return out / "model.pt"

    from_scratch = baseline("20260101T000001Z", "scratch", 0.80)
    from_imagenet = baseline("20260101T000002Z", "imagenet", 0.84)
    baseline("20260101T000003Z", "checkpoint", 0.82, epochs=2)  # the scratch baseline trained 2 epochs more
    baseline("20260101T000004Z", "scratch", 0.60, epochs=2)  # a short budget of its own
    results = cfg.paths.results_dir  # newer baselines that are not the table's own are never cut from:
    assert find_baseline(store, results, "scratch", 0) == from_scratch
    assert find_baseline(store, results, "imagenet", 0) == from_imagenet

    df = table(filing.read_records(store.glob("*.json"))).set_index("init")
    assert list(df.index) == ["checkpoint, 2 epochs", "imagenet", "scratch", "scratch, 2 epochs"]
    assert df.loc["imagenet", "reference"]  # the newest baseline from its own start is the reference
    assert pd.isna(df.loc["imagenet", "f_vs_base_pct"]) and df.loc["imagenet", "n"] == 1
    assert df.loc["checkpoint, 2 epochs", "f_vs_base_pct"] == pytest.approx(100 * (0.82 / 0.84 - 1))

    # Seed-matched: a variant of seed 1 is cut from the baseline of seed 1, and only from it.
    with pytest.raises(DataError, match=r"seed=1 .*experiment=baseline seed=1"):
        find_baseline(store, results, "scratch", 1)
    seed_one = baseline("20260101T000005Z", "scratch", 0.81, seed=1)
    assert find_baseline(store, results, "scratch", 1) == seed_one
    assert find_baseline(store, results, "scratch", 0) == from_scratch
    other = results_layout.store_dir(results, cfg.dataset.name, settings_key(cfg, "another-split-hash"))
    with pytest.raises(DataError, match="no baseline trained from scratch"):
        find_baseline(other, results, "scratch", 0)  # another test set: another table
    df = table(filing.read_records(store.glob("*.json"))).set_index("init")
    assert df.loc["scratch", "reference"] and df.loc["scratch", "n"] == 2  # seeds 0 and 1: one row
    assert df.loc["scratch", "max_f"] == pytest.approx((0.80 + 0.81) / 2)
    # Paired with the baseline of its own seed (0): +0.02, not +0.015 against the mean of both.
    assert df.loc["checkpoint, 2 epochs", "max_f_delta"] == pytest.approx(0.02)
