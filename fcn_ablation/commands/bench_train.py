"""`fcn-ablation-bench-train` (`python -m fcn_ablation.commands.bench_train`): training steps of the real job path against a plain PyTorch loop."""

from __future__ import annotations

import hydra

from fcn_ablation import results_layout
from fcn_ablation.bench.training import bench_train
from fcn_ablation.commands.common import quiet_lightning, start
from fcn_ablation.config.folder import config_dir
from fcn_ablation.config.schema import register_bench_train
from fcn_ablation.errors import exit_on_user_error
from fcn_ablation.files import check_writable


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="bench_train")
def _app(cfg) -> None:
    quiet_lightning()
    with exit_on_user_error():
        check_writable(cfg.bench_train.out_dir, "bench_train.out_dir")
        out = bench_train(cfg, progress=bool(cfg.trainer.enable_progress_bar))
        print((out / results_layout.BENCH_MD).read_text())
        print(f"written: {out}")


def main() -> None:
    # The benchmark's schema under `base_config`, in its own process only: registered on import, it
    # would change what every later composition in that process holds (a test's, say).
    register_bench_train()
    start(_app)


if __name__ == "__main__":
    main()
