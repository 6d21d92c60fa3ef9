"""`fcn-ablation-data [overrides]`: get a data set ready and check it, without training.

Downloads (`dataset.download=true`) or generates it, validates every pair, writes the split
files, prints what a result record would say about the data, then times the training loader
as configured (workers, batch size, resize mode) over `timing.loader_images` images: the
loader must outpace the GPU, and this is the figure to compare with the model's images/s.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig

from fcn_ablation.commands.common import start
from fcn_ablation.config.checks import validate
from fcn_ablation.config.folder import config_dir
from fcn_ablation.errors import exit_on_user_error
from fcn_ablation.files import check_writable


def loader_throughput(loader, n_images: int) -> dict:
    """Images per second the loader delivers, timed after its first batch (worker start-up)."""
    t0 = time.perf_counter()
    it = iter(loader)
    first = next(it)
    startup_s = time.perf_counter() - t0
    seen, t1 = 0, time.perf_counter()
    while seen < n_images:
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        seen += batch["image"].shape[0]
    elapsed = time.perf_counter() - t1
    return {
        "images": seen,
        "seconds": elapsed,
        "images_per_s": seen / elapsed,
        "startup_s": startup_s,
        "batch_shape": list(first["image"].shape),
        "workers": loader.num_workers,
    }


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def _app(cfg: DictConfig) -> None:
    from fcn_ablation.data.datamodule import SaliencyDataModule

    with exit_on_user_error():
        validate(cfg, training=False)
        check_writable(
            Path(cfg.paths.cache_dir).expanduser(),
            "paths.cache_dir",
            " (or the FCN_ABLATION_CACHE environment variable)",
        )
        dm = SaliencyDataModule.for_trainer(
            cfg.dataset, cfg.paths.cache_dir, cfg.trainer.accelerator, cfg.trainer.enable_progress_bar
        )
        dm.prepare_data()
        dm.setup()
        out = {"dataset": cfg.dataset.name, **dm.summary()}
        if cfg.timing.loader_images > 0 and len(dm.train_set):
            out["train_loader"] = loader_throughput(dm.train_dataloader(), cfg.timing.loader_images)
        print(json.dumps(out, indent=2))


# A check writes nothing but its JSON to stdout: no job folder, no log file.
NO_JOB_FOLDER = ["hydra.run.dir=.", "hydra.output_subdir=null", "hydra/job_logging=none"]  # warnings: stderr


def main() -> None:
    import sys

    sys.argv[1:1] = [o for o in NO_JOB_FOLDER if not any(a.startswith(o.split("=")[0] + "=") for a in sys.argv[1:])]
    start(_app)


if __name__ == "__main__":
    main()
