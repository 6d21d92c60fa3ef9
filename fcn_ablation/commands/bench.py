"""`fcn-ablation-bench` (`python -m fcn_ablation.commands.bench`): the interleaved inference benchmark."""

from __future__ import annotations

import hydra

from fcn_ablation import results_layout
from fcn_ablation.bench.inference import bench
from fcn_ablation.commands.common import start
from fcn_ablation.config.folder import config_dir
from fcn_ablation.errors import exit_on_user_error
from fcn_ablation.files import check_writable


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="bench")
def _app(cfg) -> None:
    with exit_on_user_error():
        check_writable(cfg.out_dir, "out_dir")
        out = bench(cfg)
        print((out / results_layout.BENCH_MD).read_text())
        print(f"written: {out}")


def main() -> None:
    start(_app)


if __name__ == "__main__":
    main()
