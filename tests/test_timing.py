"""The detection-time function times forward passes only, after warm-up, in eval mode."""

import torch

from fcn_ablation.timing import time_forward


class Counting(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.calls, self.modes, self.grad = 0, set(), set()
        self.lin = torch.nn.Linear(1, 1)

    def forward(self, x):
        self.calls += 1
        self.modes.add(self.training)
        self.grad.add(torch.is_grad_enabled())
        return x


def test_counts_warmup_and_timed_passes_in_eval_and_inference_mode():
    m = Counting().train()
    t = time_forward(m, [torch.zeros(3, 4, 4) for _ in range(7)], "cpu", warmup=3)
    assert m.calls == 10 and t.n_images == 7
    assert m.modes == {False} and m.grad == {False}
    assert m.training  # mode restored
    assert t.total_s > 0 and abs(t.ms_per_image - 1000 * t.total_s / 7) < 1e-9
