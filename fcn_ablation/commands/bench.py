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
        folders = bench(cfg)
        md = folders[0] / results_layout.BENCH_MD
        if cfg.speeds:  # several settings: Table 3 under each, side by side
            from fcn_ablation.reporting import speed_table
            from fcn_ablation.reporting.bench_files import read_bench

            name = results_layout.bench_settings(f"{cfg.width}x{cfg.height}", f"w{cfg.width_multiplier:g}",
                                                 results_layout.variants_part(list(cfg.experiments)))  # fmt: skip
            title = (f"Table 3 under {len(folders)} speed settings: {cfg.width}x{cfg.height}, {cfg.width_multiplier:g} of "
                     "the paper's width")  # fmt: skip
            speed_table.write([read_bench(f) for f in folders], folders[0].parent, name, title)
            md = results_layout.speeds_file(folders[0].parent, name, ".md")
        print(md.read_text())
        print(f"written: {md.parent}")


def main() -> None:
    start(_app)


if __name__ == "__main__":
    main()
