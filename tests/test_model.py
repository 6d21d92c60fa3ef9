"""FCN-8s shapes (Table 1, every row of Table 2), output size, and cost against FlopCounterMode."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from fcn_ablation.models.cost import model_cost
from fcn_ablation.models.fcn8s import FCN8s
from fcn_ablation.models.widths import build_widths, layer_factors
from fcn_ablation.training.job import widths_from_config

# Table 1 as printed in the paper, [kh, kw, in, out] (conv1_2's typo corrected to 3x3x64x64).
TABLE1 = {
    "conv1_1": (3, 3, 3, 64), "conv1_2": (3, 3, 64, 64),
    "conv2_1": (3, 3, 64, 128), "conv2_2": (3, 3, 128, 128),
    "conv3_1": (3, 3, 128, 256), "conv3_2": (3, 3, 256, 256), "conv3_3": (3, 3, 256, 256),
    "conv4_1": (3, 3, 256, 512), "conv4_2": (3, 3, 512, 512), "conv4_3": (3, 3, 512, 512),
    "conv5_1": (3, 3, 512, 512), "conv5_2": (3, 3, 512, 512), "conv5_3": (3, 3, 512, 512),
    "fc6": (7, 7, 512, 4096), "fc7": (1, 1, 4096, 4096),
    "score_fr": (1, 1, 4096, 2), "score_pool4": (1, 1, 512, 2), "score_pool3": (1, 1, 256, 2),
    "upscore2": (4, 4, 2, 2), "upscore_pool4": (4, 4, 2, 2), "upscore8": (16, 16, 2, 2),
}  # fmt: skip

# Table 2: the shapes each experiment changes (plus the skip scorers that follow pool3/pool4).
TABLE2 = {
    "baseline": {},
    "a": {
        "conv1_1": (3, 3, 3, 32), "conv1_2": (3, 3, 32, 32), "conv2_1": (3, 3, 32, 64), "conv2_2": (3, 3, 64, 64),
        "conv3_1": (3, 3, 64, 128), "conv3_2": (3, 3, 128, 128), "conv3_3": (3, 3, 128, 128),
        "conv4_1": (3, 3, 128, 256), "conv4_2": (3, 3, 256, 256), "conv4_3": (3, 3, 256, 256),
        "conv5_1": (3, 3, 256, 256), "conv5_2": (3, 3, 256, 256), "conv5_3": (3, 3, 256, 256),
        "fc6": (7, 7, 256, 2048), "fc7": (1, 1, 2048, 2048),
        "score_fr": (1, 1, 2048, 2), "score_pool4": (1, 1, 256, 2), "score_pool3": (1, 1, 128, 2),
    },
    "b": {"conv2_1": (3, 3, 64, 64), "conv2_2": (3, 3, 64, 64), "conv3_1": (3, 3, 64, 256)},
    "c": {"conv3_1": (3, 3, 128, 128), "conv3_2": (3, 3, 128, 128), "conv3_3": (3, 3, 128, 128),
          "conv4_1": (3, 3, 128, 512), "score_pool3": (1, 1, 128, 2)},
    "d": {"conv4_1": (3, 3, 256, 256), "conv4_2": (3, 3, 256, 256), "conv4_3": (3, 3, 256, 256),
          "conv5_1": (3, 3, 256, 512), "score_pool4": (1, 1, 256, 2)},
    "e": {"conv5_1": (3, 3, 512, 256), "conv5_2": (3, 3, 256, 256), "conv5_3": (3, 3, 256, 256), "fc6": (7, 7, 256, 4096)},
    "f": {"fc6": (7, 7, 512, 2048), "fc7": (1, 1, 2048, 4096)},
    "g": {"fc7": (1, 1, 4096, 2048), "score_fr": (1, 1, 2048, 2)},
    "h": {"fc6": (7, 7, 512, 2048), "fc7": (1, 1, 2048, 2048), "score_fr": (1, 1, 2048, 2)},
}  # fmt: skip


def _shapes(net: FCN8s) -> dict:
    """[kh, kw, in, out] of every layer, and its bias length (None without bias)."""
    out = {}
    for name in TABLE1:
        mod = getattr(net, name)
        o, i, kh, kw = mod.weight.shape
        if isinstance(mod, torch.nn.ConvTranspose2d):
            i, o = o, i  # ConvTranspose2d stores (in, out, kh, kw)
        out[name] = ((kh, kw, i, o), None if mod.bias is None else tuple(mod.bias.shape))
    return out


@pytest.mark.parametrize("experiment", sorted(TABLE2))
def test_every_weight_and_bias_shape_of_table2(compose_cfg, experiment):
    cfg = compose_cfg([f"experiment={experiment}", "model.width_multiplier=1.0"])
    _, widths = widths_from_config(cfg)
    with torch.device("meta"):  # shapes only: no memory for 134 M parameters
        net = FCN8s(widths)
    expected = {**TABLE1, **TABLE2[experiment]}
    for name, ((kh, kw, i, o), bias) in _shapes(net).items():
        assert (kh, kw, i, o) == expected[name], name
        assert bias == (None if name.startswith("upscore") else (o,)), name


@pytest.mark.parametrize("hw", [(97, 131), (32, 32), (1, 1), (64, 48), (301, 399)])
def test_output_has_the_input_size(hw):
    net = FCN8s(build_widths(layer_factors(), 1 / 16)).eval()
    with torch.no_grad():
        y = net(torch.randn(2, 3, *hw))
    assert y.shape == (2, 2, *hw)


def test_baseline_cost_at_400x300():
    params, macs = model_cost(build_widths(layer_factors()), 300, 400)
    with torch.device("meta"):
        net = FCN8s(build_widths(layer_factors()))
    assert params == sum(p.numel() for p in net.parameters()) == 134_271_430
    assert macs == pytest.approx(107.6e9, rel=1e-3)


@pytest.mark.parametrize("experiment_halve", [(), ("conv2_1", "conv2_2"), ("fc6", "fc7"), ("conv3_1", "conv4_2")])
@pytest.mark.parametrize("hw", [(97, 131), (32, 32)])
def test_cost_equals_flop_counter_on_the_real_module(experiment_halve, hw):
    widths = build_widths(layer_factors(experiment_halve), 1 / 8)
    net = FCN8s(widths).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(torch.randn(1, 3, *hw))
    params, macs = model_cost(widths, *hw)
    assert macs * 2 == counter.get_total_flops()
    assert params == sum(p.numel() for p in net.parameters())


def test_upsampling_is_bilinear_and_frozen_unless_learned():
    net = FCN8s(build_widths(layer_factors(), 1 / 16))
    assert not net.upscore8.weight.requires_grad
    # A constant map upsamples to the same constant away from the borders.
    x = torch.ones(1, 2, 6, 6)
    y = torch.nn.functional.conv_transpose2d(x, net.upscore8.weight, stride=8)
    assert torch.allclose(y[0, :, 16:-16, 16:-16], torch.ones_like(y[0, :, 16:-16, 16:-16]))
    assert FCN8s(build_widths(layer_factors(), 1 / 16), learn_upsampling=True).upscore8.weight.requires_grad


@pytest.mark.parametrize("hw", [(96, 96), (37, 53), (1, 1), (2, 7), (95, 98), (300, 400)])
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_the_first_stages_without_the_zero_border_are_the_same_function(hw, channels_last):
    """`skip_zeros` (train_speed.skip_zeros) computes stages 1 to 4 where the image is and the
    bilinear deconvolutions per channel: the same
    outputs and the same gradients of every parameter as the layer-by-layer network, at any size."""
    torch.manual_seed(0)
    net = FCN8s(build_widths({"conv1_1": 0.5, "fc6": 0.5}, 0.0625), 2, 0.0)
    net.conv1_1.bias.data.uniform_(-0.5, 0.5)  # a bias of each sign: c1 = relu(b1) has zeros and not
    x = torch.randn(2, 3, *hw)
    if channels_last:
        net, x = net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    params = [p for p in net.parameters() if p.requires_grad]
    plain, skipped = net(x), net(x, skip_zeros=True)
    torch.testing.assert_close(skipped, plain, rtol=1e-5, atol=1e-5)
    for a, b in zip(
        torch.autograd.grad(plain.square().sum(), params), torch.autograd.grad(skipped.square().sum(), params)
    ):
        # sums over ~10^6 positions in another order: compared at a thousandth of the largest gradient
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-3 * float(a.abs().max()))


def test_a_deconvolution_that_is_not_per_channel_is_run_whole():
    """`skip_zeros` runs a deconvolution per channel only when its kernel is (the frozen bilinear
    filters); a learned one, or a frozen one with cross-channel taps, is run as it is."""
    torch.manual_seed(0)
    x = torch.randn(1, 3, 40, 50)
    for learn in (False, True):
        net = FCN8s(build_widths({}, 0.0625), 2, 0.0, learn_upsampling=learn)
        with torch.no_grad():
            net.upscore8.weight[0, 1] += 0.1  # a cross-channel tap
        torch.testing.assert_close(net(x, skip_zeros=True), net(x), rtol=1e-5, atol=1e-5)
