"""`SaliencyModule`: the LightningModule that trains an FCN-8s with per-pixel cross-entropy
(the mean over pixels, or Caffe FCN's sum over an image's pixels, averaged over the batch) and
scores its saliency maps (softmax probability of the salient class) with F-measure,
E-measure, S-measure, weighted F and MAE. The test keeps every image's values (`test_per_image`)
and the 8-bit maps of a few fixed images (`test_maps`): the report's paired tests and its
saliency-map grid need them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from fcn_ablation.data.transforms import IGNORE
from fcn_ablation.evaluation.maps import write_map
from fcn_ablation.evaluation.metrics import SaliencyMetrics
from fcn_ablation.evaluation.registry import HEADLINE
from fcn_ablation.models.choices import ScheduleName
from fcn_ablation.models.fast import compile_for_training, pad_to_bucket
from fcn_ablation.models.fcn8s import FCN8s


def pixel_loss(logits: torch.Tensor, mask: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Per-pixel cross-entropy, `IGNORE` pixels left out: the mean over pixels, or Caffe FCN's sum
    over an image's pixels averaged over the batch (`normalize: false`, as pytorch-fcn)."""
    loss = F.cross_entropy(logits, mask, reduction=reduction, ignore_index=IGNORE)
    return loss / logits.shape[0] if reduction == "sum" else loss


class SaliencyModule(pl.LightningModule):
    def __init__(
        self,
        net: FCN8s,
        optimizer: Callable[[list], torch.optim.Optimizer],
        *,
        loss_reduction: str = "mean",
        bias_lr_mult: float = 1.0,
        schedule: ScheduleName | str = ScheduleName.constant,
        keep_maps: tuple[str, ...] = (),
        channels_last: bool = False,
        skip_zeros: bool = False,
        compile: bool = False,
        compile_mode: str = "default",
        size_bucket: int = 0,
    ) -> None:
        """`optimizer`: the optimiser's class with its arguments bound (Hydra's `_partial_`), called
        with the parameter groups; `loss_reduction`: "mean" over pixels, or "sum" over an image's
        pixels as Caffe FCN; `bias_lr_mult`: the biases' learning rate over the weights'. The fast
        paths (`train_speed`, `models/fast.py`): `channels_last` memory, the first stage without
        the work on known zeros (`skip_zeros`: conv1_1's border, the deconvolutions' zero kernels), a `compile`d training
        forward in `compile_mode` (evaluation stays eager: it sees every native size), training batches padded to
        multiples of `size_bucket` pixels."""
        super().__init__()
        self.net = net
        self.channels_last, self.size_bucket, self.skip_zeros = channels_last, size_bucket, skip_zeros
        # not a submodule (its parameters are the net's): the state dict keeps the net's names
        object.__setattr__(self, "train_forward", compile_for_training(net, compile_mode) if compile else net)
        self.make_optimizer = optimizer
        self.loss_reduction, self.bias_lr_mult, self.schedule = loss_reduction, bias_lr_mult, ScheduleName(schedule)
        self.val_metrics, self.test_metrics = SaliencyMetrics(), SaliencyMetrics()
        self.keep_maps = set(keep_maps)  # test image names whose 8-bit maps are kept
        self.test_names: list[str] = []
        self.test_maps: dict[str, torch.Tensor] = {}
        self.test_per_image: dict[str, torch.Tensor] = {}
        self.test_prefix = "test"  # the logged keys' prefix: `test/<set>` while testing on another set
        self.save_maps_to: Path | None = None  # while testing: write every map there as `<name>.png`

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.layout(x), skip_zeros=self.skip_zeros)

    def layout(self, x: torch.Tensor) -> torch.Tensor:
        """`x` in the memory format the network trains in (`channels_last`)."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def on_fit_start(self) -> None:
        if self.channels_last:  # on its device by now; a later move keeps the format
            self.net.to(memory_format=torch.channels_last)

    @staticmethod
    def saliency(logits: torch.Tensor) -> torch.Tensor:
        """Probability of the salient class (index 1), (N, H, W) in [0, 1]."""
        return logits.softmax(1)[:, 1]

    def training_step(self, batch, batch_idx):
        image, mask = batch["image"], batch["mask"]
        if self.size_bucket:
            image, mask = pad_to_bucket(image, mask, self.size_bucket)
        loss = pixel_loss(self.train_forward(self.layout(image), skip_zeros=self.skip_zeros), mask, self.loss_reduction)
        # A tensor, not a number: no host-device synchronisation here. The progress bar reads it
        # at each refresh, the logger every `trainer.log_every_n_steps`.
        self.log("train/loss", loss, prog_bar=True, batch_size=image.shape[0])
        return loss

    def _evaluate(self, batch, metrics, prefix: str) -> torch.Tensor:
        logits = self(batch["image"])
        # Tested at `dataset.eval_size`: the map goes back to the mask's own size, where it is scored.
        if logits.shape[-2:] != batch["mask"].shape[-2:]:
            logits = F.interpolate(logits, size=batch["mask"].shape[-2:], mode="bilinear", align_corners=False)
        loss = pixel_loss(logits, batch["mask"])
        sal = self.saliency(logits)
        metrics.update(sal, batch["mask"])
        self.log(f"{prefix}/loss", loss, batch_size=batch["image"].shape[0])
        return sal

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, self.val_metrics, "val")

    def on_validation_epoch_end(self) -> None:
        self._log_metrics(self.val_metrics, "val")

    def on_test_epoch_start(self) -> None:
        self.test_names, self.test_maps, self.test_per_image = [], {}, {}

    def test_step(self, batch, batch_idx):
        sal = self._evaluate(batch, self.test_metrics, self.test_prefix)
        for name, s in zip(batch["name"], sal):
            self.test_names.append(name)
            if name in self.keep_maps:  # as a saved PNG would hold it
                self.test_maps[name] = (s.float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()
            if self.save_maps_to is not None:
                write_map(s, self.save_maps_to / f"{name}.png")

    def on_test_epoch_end(self) -> None:
        self.test_per_image = {k: v.cpu() for k, v in self.test_metrics.per_image().items()}
        self._log_metrics(self.test_metrics, self.test_prefix)

    def _log_metrics(self, metrics, prefix: str) -> None:
        for k, v in metrics.compute().items():
            self.log(f"{prefix}/{k}", v.float(), prog_bar=k == HEADLINE)
        metrics.reset()

    def configure_optimizers(self):
        cosine = self.schedule is ScheduleName.cosine  # only a schedule needs the run's length (and a Trainer)
        return self.optimizers_for(self.trainer.estimated_stepping_batches if cosine else 1)

    def optimizers_for(self, total_steps: int | float):
        """Caffe FCN's two groups: the weights, at the optimiser's own rate and weight decay; the
        biases (the only 1-d parameters), without decay, at `bias_lr_mult` times the rate (Caffe:
        twice). The frozen deconvolutions are in neither. A cosine schedule runs over
        `total_steps`; Lightning's form (an optimiser, or a dict with its scheduler), which the
        training benchmark's plain loop reads as well."""
        params = [p for p in self.parameters() if p.requires_grad]
        opt = self.make_optimizer([{"params": [p for p in params if p.dim() > 1]}])
        biases = {"params": [p for p in params if p.dim() <= 1], "weight_decay": 0.0}
        if "lr" in opt.defaults:
            biases["lr"] = opt.defaults["lr"] * self.bias_lr_mult
        opt.add_param_group(biases)
        if self.schedule is ScheduleName.cosine:
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, int(total_steps)))
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
        return opt
