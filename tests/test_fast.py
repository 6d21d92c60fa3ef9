"""The training fast paths (`train_speed.*`, `trainer.precision`): each trains like fp32 within a
stated tolerance, the compiled network computes what the eager one does, size buckets bound the
compilations, and combinations that would train something else stop at start-up with one line."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from fcn_ablation.config.checks import validate
from fcn_ablation.errors import ConfigError
from fcn_ablation.models.fast import compilations, pad_to_bucket
from fcn_ablation.models.fcn8s import FCN8s
from fcn_ablation.models.widths import build_widths
from fcn_ablation.training.job import make_module, optimizer_config, plan_job

from helpers import app_config

SIZES = [(40, 56), (56, 40), (47, 53), (40, 56), (61, 45), (52, 52)]  # native sizes, both orientations, odd ones


class _Losses(pl.Callback):
    def __init__(self) -> None:
        self.values: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.values.append(float(outputs["loss"]))


def _batches() -> list[dict]:
    g = torch.Generator().manual_seed(0)
    out = []
    for h, w in SIZES:
        image = torch.randn(1, 3, h, w, generator=g)
        mask = (torch.rand(1, h, w, generator=g) < 0.3).long()
        out.append({"image": image, "mask": mask})
    return out


def _train(*overrides, precision: str = "32-true") -> list[float]:
    """Losses of six steps of the real LightningModule (its optimiser groups, loss and logging) on
    native-size batches of one, from one seed, under `overrides` of the job config."""
    plain = ["train_speed.channels_last=false", "train_speed.skip_zeros=false", "train_speed.fused_optimizer=false"]
    # lr 1e-3: the rate the tolerances below were measured at (the default's is 2e-3 since 2026-11-30)
    cfg = app_config(["model.width_multiplier=0.0625", "model.dropout=0", "optimizer.lr=1e-3", *plain, *overrides])
    torch.manual_seed(0)
    net = FCN8s(build_widths({}, cfg.model.width_multiplier), 2, 0.0)
    module = make_module(net, optimizer_config(cfg.optimizer, plan_job(cfg).start), speed=cfg.train_speed)
    losses = _Losses()
    trainer = pl.Trainer(accelerator="cpu", precision=precision, max_steps=len(SIZES), logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, callbacks=[losses])  # fmt: skip
    trainer.fit(module, train_dataloaders=DataLoader(_batches(), batch_size=None))
    return losses.values


@pytest.fixture(scope="module")
def fp32_losses():
    return _train()


# (option, relative tolerance against fp32's losses, step by step; measured: 5e-7, 2.6e-2, 1.0e-2).
# bf16 rounds activations to 8 bits of mantissa; padding to buckets gives the network more
# (mean-coloured) context at the edges.
OPTIONS = [
    (("train_speed.channels_last=true",), "32-true", 1e-5),
    (("train_speed.skip_zeros=true",), "32-true", 1e-5),
    (("train_speed.fused_optimizer=true",), "32-true", 1e-5),
    ((), "bf16-mixed", 5e-2),
    (("train_speed.size_bucket=16",), "32-true", 5e-2),
]


@pytest.mark.parametrize(
    "overrides, precision, rtol",
    OPTIONS,
    ids=["channels_last", "skip_zeros", "fused_optimizer", "bf16-mixed", "bucket"],
)
def test_each_fast_path_trains_to_fp32s_losses(fp32_losses, overrides, precision, rtol):
    losses = _train(*overrides, precision=precision)
    assert len(losses) == len(fp32_losses) == len(SIZES)
    assert losses == pytest.approx(fp32_losses, rel=rtol)
    if precision != "32-true" or any("bucket" in o for o in overrides):
        assert losses != fp32_losses  # the option took effect: other arithmetic, or other input


@pytest.mark.slow
def test_a_compiled_training_step_trains_as_the_eager_one():
    """Every size falls in one 64 x 64 bucket: one compilation (Inductor on a CPU takes about a
    minute for a forward and backward graph, cold), and the eager run on the same padded input is the
    reference: the compiled network's outputs, hence losses, and its updates match eager's."""
    before = compilations()
    compiled = _train("train_speed.compile=true", "train_speed.size_bucket=64")
    assert compilations() - before == 1
    assert compiled == pytest.approx(_train("train_speed.size_bucket=64"), rel=1e-4)


def test_padding_to_a_bucket_is_ignored_by_the_loss():
    from fcn_ablation.data.transforms import IGNORE
    from fcn_ablation.training.module import pixel_loss

    x, mask = torch.randn(2, 3, 33, 30), torch.randint(0, 2, (2, 33, 30))
    px, pmask = pad_to_bucket(x, mask, 32)
    assert px.shape[-2:] == (64, 32) and pmask.shape[-2:] == (64, 32)
    assert (px[..., 33:, :] == 0).all() and (pmask[..., 33:, :] == IGNORE).all() and (pmask[..., 30:] == IGNORE).all()
    torch.testing.assert_close(px[..., :33, :30], x)
    logits = torch.randn(2, 2, 64, 32)
    assert pixel_loss(logits, pmask, "sum") == pytest.approx(
        float(pixel_loss(logits[..., :33, :30], mask, "sum")), rel=1e-6
    )


@pytest.mark.parametrize(
    "overrides, says",
    [
        (["trainer.precision=16-mixed"], "fp16 needs a CUDA device"),
        (["trainer.precision=bf16-true"], "keeps the weights themselves in 16 bits"),
        (["trainer=gpu", "recipe=paper", "trainer.precision=16-mixed"], "exceed fp16's range"),
        (["train_speed.tf32=true"], "TF32 is a CUDA format"),
        (["train_speed.size_bucket=-32"], "train_speed.size_bucket"),
    ],
)
def test_a_combination_that_would_train_something_else_stops_with_one_line(overrides, says):
    with pytest.raises(ConfigError, match=says) as err:
        validate(app_config(overrides))
    assert "\n" not in str(err.value)


def test_speed_only_options_share_a_table_arithmetic_ones_do_not():
    from fcn_ablation.config.settings_key import settings_key

    def key(*overrides):
        return settings_key(app_config(list(overrides)), "s")

    assert key("train_speed.channels_last=true", "train_speed.compile=true", "train_speed.skip_zeros=true",
               "train_speed.fused_optimizer=true") == key("train_speed.skip_zeros=false", "train_speed.fused_optimizer=false")  # fmt: skip
    assert key("train_speed.size_bucket=32") != key()
    assert key("trainer.precision=bf16-mixed") != key()
