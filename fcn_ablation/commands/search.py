"""`fcn-ablation-search` (`python -m fcn_ablation.commands.search`): the width search, an Optuna study over layer-group widths."""

from __future__ import annotations

import hydra

from fcn_ablation import results_layout
from fcn_ablation.commands.common import quiet_lightning, start
from fcn_ablation.config.folder import config_dir
from fcn_ablation.errors import exit_on_user_error
from fcn_ablation.files import check_writable
from fcn_ablation.search.study import Search


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="search")
def _app(cfg) -> None:
    quiet_lightning()
    with exit_on_user_error():
        check_writable(cfg.out_dir, "out_dir")
        search = Search(cfg)
        search.run()
        summary = search.write()
        print((search.out / results_layout.FRONT_MD).read_text())
        print(f"written: {search.out} ({summary['trials']} trials, {len(summary['front'])} on the front)")


def main() -> None:
    start(_app)


if __name__ == "__main__":
    main()
