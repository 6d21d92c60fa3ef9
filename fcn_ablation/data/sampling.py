"""The training order as a plan drawn afresh for each epoch, so that a resumed run trains exactly
as an uninterrupted one.

An epoch's plan (`EpochPlan`) is the order of the training images and, for each, whether it is
flipped: both drawn from a generator seeded by the data set's split seed and the epoch number,
nothing else. No random state carries over from one epoch to the next, and none lives in a
loader worker (a flip drawn in a worker would depend on how many workers there are and on
their history), so the plan of epoch 7 is the same whether epochs 0 to 6 ran in this process,
in another one, or on a machine with more cores.

`ResumableLoader` counts the batches it handed out; the data module saves that position in
every checkpoint (`SaliencyDataModule.state_dict`), and a resumed run skips exactly the
batches already trained on, without reading them.
"""

from __future__ import annotations

import hashlib

import torch
from torch.utils.data import DataLoader, Sampler


def _epoch_seed(seed: int, epoch: int) -> int:
    digest = hashlib.sha256(f"fcn-ablation-plan-{seed}-{epoch}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


class EpochPlan(Sampler):
    """Yields `(index, flip)` for every training image in the epoch's order (`flip` False when
    flips are off), and with `crop_scale` ([lo, hi]) `(index, flip, (share, x, y))`: a crop of
    `share` (drawn in [lo, hi]) of each side, placed at `x`, `y` (in [0, 1]) of the room left;
    `skip` items of the next epoch are left out (a resumed epoch)."""

    def __init__(self, n: int, seed: int, flip: bool, crop_scale=None) -> None:
        self.n, self.seed, self.flip = int(n), int(seed), bool(flip)
        self.crop_scale = tuple(float(v) for v in crop_scale) if crop_scale is not None else None
        self.epoch = 0
        self.skip = 0

    def set_epoch(self, epoch: int) -> None:
        """Lightning calls it at every epoch's start (`_set_sampler_epoch`)."""
        self.epoch = int(epoch)

    def plan(self, epoch: int) -> list[tuple[int, bool]]:
        g = torch.Generator().manual_seed(_epoch_seed(self.seed, epoch))
        order = torch.randperm(self.n, generator=g).tolist()
        flips = (torch.rand(self.n, generator=g) < 0.5).tolist() if self.flip else [False] * self.n
        if self.crop_scale is None:
            return list(zip(order, flips))
        lo, hi = self.crop_scale
        draws = torch.rand(self.n, 3, generator=g, dtype=torch.float64)
        crops = [(lo + (hi - lo) * a, x, y) for a, x, y in draws.tolist()]
        return list(zip(order, flips, crops))

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        start, self.skip = self.skip, 0
        return iter(self.plan(self.epoch)[start:])


class ResumableLoader(DataLoader):
    """A DataLoader over an `EpochPlan` that knows where in the epoch it is (`position`) and can
    start a run there (`restore`)."""

    def __init__(self, dataset, plan: EpochPlan, **kwargs) -> None:
        # A generator of its own: the loader's iterator draws its workers' base seed from it, not
        # from torch's global generator, which dropout uses and a checkpoint restores.
        super().__init__(dataset, sampler=plan, generator=torch.Generator().manual_seed(plan.seed), **kwargs)
        self.plan = plan
        self.handed_out = 0  # batches of the current epoch handed to the training loop

    def __iter__(self):
        self.generator.manual_seed(_epoch_seed(self.plan.seed, self.plan.epoch))
        self.handed_out = self.plan.skip // (self.batch_size or 1)
        for batch in super().__iter__():
            self.handed_out += 1
            yield batch

    def position(self) -> dict:
        return {"epoch": self.plan.epoch, "batches": self.handed_out, "length": len(self), "seed": self.plan.seed}

    def restore(self, state: dict) -> None:
        """Continue where `position()` was taken: within its epoch after the batches handed out,
        or at the next epoch's start when that one was complete."""
        if int(state["batches"]) >= int(state["length"]):
            self.plan.set_epoch(int(state["epoch"]) + 1)
        else:
            self.plan.set_epoch(int(state["epoch"]))
            self.plan.skip = int(state["batches"]) * (self.batch_size or 1)
