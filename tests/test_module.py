"""The LightningModule's optimiser groups and loss reduction, as configured."""

import pytest
import torch

from fcn_ablation.models.fcn8s import FCN8s
from fcn_ablation.models.widths import build_widths, layer_factors
from fcn_ablation.training.initialise import effective_source
from fcn_ablation.training.job import make_module, optimizer_config, plan_job


def _module(compose_cfg, *overrides):
    cfg = compose_cfg(list(overrides))
    net = FCN8s(build_widths(layer_factors(), 1 / 32), dropout=cfg.model.dropout)
    return make_module(net, optimizer_config(cfg.optimizer, plan_job(cfg).start))


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
    assert isinstance(opt, torch.optim.AdamW) and opt.defaults["lr"] == pytest.approx(2e-3)


def test_summed_loss_is_per_image_the_mean_times_the_pixels(compose_cfg):
    """Caffe FCN (normalize: false) and pytorch-fcn sum over an image's pixels and divide by the
    batch size: a batch of two copies of one image has the loss of the image alone."""
    batch = {"image": torch.randn(2, 3, 20, 24), "mask": torch.randint(0, 2, (2, 20, 24))}
    torch.manual_seed(0)
    mean = _module(compose_cfg, "model.dropout=0")
    summed = _module(compose_cfg, "optimizer=sgd", "model.dropout=0")
    summed.net.load_state_dict(mean.net.state_dict())
    mean.log = summed.log = lambda *a, **k: None
    assert summed.training_step(batch, 0).item() == pytest.approx(
        mean.training_step(batch, 0).item() * 20 * 24, rel=1e-5
    )
    twice = {"image": batch["image"][:1].repeat(2, 1, 1, 1), "mask": batch["mask"][:1].repeat(2, 1, 1)}
    once = {"image": batch["image"][:1], "mask": batch["mask"][:1]}
    assert summed.training_step(twice, 0).item() == pytest.approx(summed.training_step(once, 0).item(), rel=1e-6)


def test_the_paper_recipe_trains_from_vgg16_at_1e_10_and_fine_tunes_at_1e_14(compose_cfg):
    base = compose_cfg(["recipe=paper", "init=imagenet"])
    assert (
        optimizer_config(base.optimizer, plan_job(base).start).lr == 1e-10
        and base.model.at_once_scaling
        and not base.dataset.flip
    )
    sweep = compose_cfg(["preset=paper", "experiment=f"])
    assert (
        optimizer_config(sweep.optimizer, effective_source(sweep.init, True)).lr == 1e-10
    )  # the sweep's baseline, from VGG16
    assert (
        optimizer_config(sweep.optimizer, plan_job(sweep).start).lr == 1e-14
    )  # a variant, cut from the trained baseline
    assert compose_cfg(["recipe=modern"]).dataset.flip


def _losses(module, images, masks, steps):
    """Per-pixel training loss of each step of training `module` on the images, in turn."""
    import pytorch_lightning as pl

    class Record(pl.Callback):
        losses: list = []

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            self.losses.append(outputs["loss"].item() / masks[0].numel())

    data = [{"image": x, "mask": y} for x, y in zip(images, masks)]
    loader = torch.utils.data.DataLoader(
        data, batch_size=1, collate_fn=lambda b: {k: torch.stack([d[k] for d in b]) for k in b[0]}
    )
    record = Record()
    record.losses = []
    trainer = pl.Trainer(max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[record], accelerator="cpu")  # fmt: skip
    trainer.fit(module, train_dataloaders=loader)
    return record.losses


@pytest.mark.slow
def test_the_summed_loss_recipe_lowers_the_loss_from_a_pretrained_style_start(compose_cfg):
    """The paper recipe's solver on a zero-scored, at-once-scaled FCN-8s (1/16 width, 96x128
    images): at 1e-10 the loss falls well within 100 steps; at 1e-14, the rate for fine-tuning a
    trained FCN, it barely moves in 40. The trunk is VGG-shaped (Kaiming), not ImageNet's: no weights
    can be downloaded here; the scorers, the scaling and the solver are the recipe's own."""
    import numpy as np

    from fcn_ablation.data.synthetic import make_sample
    from fcn_ablation.data.transforms import Normalise

    cfg = compose_cfg(["recipe=paper", "init=imagenet"])
    rng = np.random.default_rng(0)
    samples = [make_sample(rng, 96, 128) for _ in range(8)]
    normalise = Normalise(cfg.dataset.mean, cfg.dataset.std, cfg.dataset.channel_order)
    images = [normalise(torch.from_numpy(image).permute(2, 0, 1)) for image, _ in samples]
    masks = [torch.from_numpy((mask > 127).astype(np.int64)) for _, mask in samples]
    result = {}
    for lr, steps in ((optimizer_config(cfg.optimizer, plan_job(cfg).start).lr, 100), (cfg.optimizer.lr, 40)):
        torch.manual_seed(0)
        net = FCN8s(
            build_widths(layer_factors(), 1 / 16), dropout=cfg.model.dropout, at_once_scaling=cfg.model.at_once_scaling
        )
        net.zero_scorers()
        optimizer = optimizer_config(cfg.optimizer, plan_job(cfg).start)
        optimizer.lr = lr
        losses = _losses(make_module(net, optimizer), images, masks, steps=steps)
        result[lr] = (np.mean(losses[:8]), np.mean(losses[-8:]))
    first, last = result[1e-10]
    assert last < 0.8 * first, result
    first, last = result[1e-14]
    assert abs(last - first) < 0.02 * first, result
