"""`SaliencyModule`: the LightningModule that trains an FCN-8s with per-pixel cross-entropy
and scores its saliency maps (softmax probability of the salient class) with F-measure and MAE."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from fcn_ablation.config import OptimizerName, ScheduleName
from fcn_ablation.data.transforms import IGNORE
from fcn_ablation.metrics import FMeasure, MeanAbsoluteError
from fcn_ablation.models.fcn8s import FCN8s


class SaliencyModule(pl.LightningModule):
    def __init__(self, net: FCN8s, optimizer) -> None:
        super().__init__()
        self.net = net
        self.opt_cfg = optimizer
        self.val_f, self.test_f = FMeasure(), FMeasure()
        self.val_mae, self.test_mae = MeanAbsoluteError(), MeanAbsoluteError()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    @staticmethod
    def saliency(logits: torch.Tensor) -> torch.Tensor:
        """Probability of the salient class (index 1), (N, H, W) in [0, 1]."""
        return logits.softmax(1)[:, 1]

    def training_step(self, batch, batch_idx):
        logits = self(batch["image"])
        loss = F.cross_entropy(logits, batch["mask"], reduction=str(self.opt_cfg.loss_reduction), ignore_index=IGNORE)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["image"].shape[0])
        return loss

    def _evaluate(self, batch, f_metric, mae_metric, prefix: str) -> None:
        logits = self(batch["image"])
        loss = F.cross_entropy(logits, batch["mask"], ignore_index=IGNORE)
        sal = self.saliency(logits)
        f_metric.update(sal, batch["mask"])
        mae_metric.update(sal, batch["mask"])
        self.log(f"{prefix}/loss", loss, batch_size=batch["image"].shape[0])

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, self.val_f, self.val_mae, "val")

    def on_validation_epoch_end(self) -> None:
        self._log_metrics(self.val_f, self.val_mae, "val")

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, self.test_f, self.test_mae, "test")

    def on_test_epoch_end(self) -> None:
        self._log_metrics(self.test_f, self.test_mae, "test")

    def _log_metrics(self, f_metric, mae_metric, prefix: str) -> None:
        for k, v in f_metric.compute().items():
            self.log(f"{prefix}/{k}", v.float(), prog_bar=k == "max_f")
        self.log(f"{prefix}/mae", mae_metric.compute().float())
        f_metric.reset()
        mae_metric.reset()

    def configure_optimizers(self):
        cfg = self.opt_cfg
        # Biases and the (frozen) deconvolutions take no weight decay, as in Caffe FCN.
        params = [p for p in self.parameters() if p.requires_grad]
        # Biases (the only 1-d parameters) may also take a larger learning rate (Caffe: twice).
        decay = [p for p in params if p.dim() > 1]
        biases = [p for p in params if p.dim() <= 1]
        groups = [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": biases, "weight_decay": 0.0, "lr": cfg.lr * cfg.bias_lr_mult},
        ]
        if OptimizerName(cfg.name) is OptimizerName.sgd:
            opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)
        else:
            opt = torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas))
        if ScheduleName(cfg.schedule) is ScheduleName.cosine:
            total = self.trainer.estimated_stepping_batches
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, int(total)))
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
        return opt
