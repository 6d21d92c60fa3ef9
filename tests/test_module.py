"""The LightningModule's optimiser groups and loss reduction, as configured."""

import pytest
import torch

from fcn_ablation.models.fcn8s import FCN8s
from fcn_ablation.models.module import SaliencyModule
from fcn_ablation.models.widths import build_widths, layer_factors


def _module(compose_cfg, *overrides):
    cfg = compose_cfg(list(overrides))
    return SaliencyModule(FCN8s(build_widths(layer_factors(), 1 / 32), dropout=cfg.model.dropout), cfg.optimizer)


def test_paper_solver_is_sgd_without_decay_on_biases_and_frozen_deconvolutions(compose_cfg):
    opt = _module(compose_cfg, "optimizer=sgd").configure_optimizers()
    assert isinstance(opt, torch.optim.SGD)
    decay, no_decay = opt.param_groups
    assert opt.defaults["lr"] == 1e-14 and opt.defaults["momentum"] == 0.99
    assert decay["weight_decay"] == 5e-4 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() > 1 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    n_trainable = sum(1 for p in _module(compose_cfg).parameters() if p.requires_grad)
    assert len(decay["params"]) + len(no_decay["params"]) == n_trainable  # deconvolutions excluded
    assert n_trainable == 2 * 18  # 15 trunk convs + 3 scorers, weight and bias each


def test_default_is_adamw(compose_cfg):
    opt = _module(compose_cfg).configure_optimizers()
    assert isinstance(opt, torch.optim.AdamW) and opt.defaults["lr"] == pytest.approx(1e-3)


def test_summed_loss_is_the_mean_times_the_pixels(compose_cfg):
    batch = {"image": torch.randn(2, 3, 20, 24), "mask": torch.randint(0, 2, (2, 20, 24))}
    torch.manual_seed(0)
    mean = _module(compose_cfg, "model.dropout=0")
    summed = _module(compose_cfg, "optimizer=sgd", "model.dropout=0")
    summed.net.load_state_dict(mean.net.state_dict())
    mean.log = summed.log = lambda *a, **k: None
    assert summed.training_step(batch, 0).item() == pytest.approx(mean.training_step(batch, 0).item() * 2 * 20 * 24, rel=1e-5)
