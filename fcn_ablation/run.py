"""One Hydra job: build the variant, train, test, time, and write its result record."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from fcn_ablation import records
from fcn_ablation.config import validate
from fcn_ablation.data.datamodule import SaliencyDataModule
from fcn_ablation.initialise import initialise
from fcn_ablation.loggers import finish_logger, make_logger
from fcn_ablation.models.cost import model_cost
from fcn_ablation.models.fcn8s import FCN8s
from fcn_ablation.models.module import SaliencyModule
from fcn_ablation.models.widths import build_widths, changed_layers, layer_factors
from fcn_ablation.records import training_epochs
from fcn_ablation.timing import SpeedOptions, best_benchmarked, device_label, time_forward

log = logging.getLogger(__name__)


# The test metrics every record holds (means over the test images).
METRICS = ("max_f", "mean_f", "adaptive_f", "max_e", "mean_e", "adaptive_e", "s_measure", "weighted_f", "mae")


def test_image_hw(dataset) -> list[int]:
    """The most common (height, width) of a test set's images: where its detection time is typical."""
    from collections import Counter

    from PIL import Image

    sizes = Counter()
    for pair in dataset.pairs[:200]:
        with Image.open(pair.image) as im:
            sizes[(im.height, im.width)] += 1
    return list(sizes.most_common(1)[0][0])


def per_image_arrays(module: SaliencyModule) -> dict:
    """Every test image's values under its name, and the kept 8-bit maps: the record's `.npz`."""
    import numpy as np

    out = {"names": np.array(module.test_names)}
    for k, v in module.test_per_image.items():
        out[k] = v.numpy().astype(np.float32)
    for name, m in module.test_maps.items():
        out[f"map/{name}"] = m.numpy()
    return out


def widths_from_config(cfg) -> tuple[dict[str, float], dict[str, int]]:
    factors = layer_factors(cfg.experiment.halve, cfg.experiment.factors, experiment=cfg.experiment.name)
    return factors, build_widths(factors, cfg.model.width_multiplier)


def speed_options(cfg, device) -> tuple[SpeedOptions, str]:
    """The detection timing's speed options and where they come from ("config" or a bench.csv)."""
    speed = SpeedOptions.from_config(cfg.timing)
    if not cfg.timing.best_benchmarked:
        return speed, "config"
    bench_dir = Path(cfg.paths.results_dir) / "bench"
    found = best_benchmarked(bench_dir, device, speed.precision, cfg.cost.height, cfg.cost.width, cfg.model.width_multiplier)
    if found is None:
        log.warning(
            "timing.best_benchmarked: no benchmark of this device at %s, %dx%d, width %g under %s; timing with the "
            "configured options. Run: python -m fcn_ablation.bench -m channels_last=false,true compile=false,true "
            "precision=%s width_multiplier=%g", speed.precision, cfg.cost.width, cfg.cost.height,
            cfg.model.width_multiplier, bench_dir, speed.precision, cfg.model.width_multiplier,
        )  # fmt: skip
        return speed, "config"
    return found[0], str(found[1])


def run(cfg, output_dir: Path, group: str | None = None) -> dict:
    """Train and measure one experiment; returns the record also written to `output_dir/record.json`."""
    validate(cfg)
    output_dir = Path(output_dir)
    pl.seed_everything(cfg.seed, workers=True)
    factors, widths = widths_from_config(cfg)
    net = FCN8s(widths, cfg.model.num_classes, cfg.model.dropout, cfg.model.learn_upsampling, cfg.model.at_once_scaling)
    is_baseline = not changed_layers(factors)
    data = SaliencyDataModule.from_config(cfg)
    data.prepare_data()
    data.setup()
    split_hash = data.summary()["split_hash"]
    init_info = initialise(net, cfg, is_baseline, split_hash)
    grid = sorted(p.stem for p in data.test_set.pairs)[: cfg.report.grid_images]
    module = SaliencyModule(net, cfg.optimizer, keep_maps=tuple(grid))

    logger = make_logger(cfg, output_dir, group)
    trainer = pl.Trainer(
        **{**OmegaConf.to_container(cfg.trainer), "max_epochs": training_epochs(cfg, is_baseline)},
        logger=logger if logger is not None else False,
        default_root_dir=str(output_dir),
        enable_checkpointing=False,
    )
    t0 = time.perf_counter()
    trainer.fit(module, datamodule=data)
    train_s = time.perf_counter() - t0
    test_metrics = trainer.test(module, datamodule=data, verbose=False)[0]

    device = trainer.strategy.root_device
    n_time = cfg.timing.max_images or len(data.test_set)
    images = (data.normalise(data.test_set[i]["image"]) for i in range(min(n_time, len(data.test_set))))
    speed, speed_from = speed_options(cfg, device)
    timing = time_forward(net, images, device, warmup=cfg.timing.warmup, opts=speed)

    params, macs = model_cost(widths, cfg.cost.height, cfg.cost.width, cfg.model.num_classes)
    record = {
        "experiment": cfg.experiment.name,
        "description": cfg.experiment.description,
        "dataset": cfg.dataset.name,
        "preset": cfg.preset,
        "recipe": cfg.recipe,
        "init_tag": init_info["tag"],
        "init": init_info,
        "settings_key": records.settings_key(cfg, split_hash),
        "seed": cfg.seed,
        "changed_layers": changed_layers(factors),
        "factors": {k: v for k, v in factors.items() if v != 1.0},
        "width_multiplier": cfg.model.width_multiplier,
        "widths": widths,
        "params": params,
        "macs": macs,
        "cost_input_hw": [cfg.cost.height, cfg.cost.width],
        **{k: test_metrics[f"test/{k}"] for k in METRICS},
        "test_image_hw": test_image_hw(data.test_set),
        "detection_total_s": timing.total_s,
        "detection_ms_per_image": timing.ms_per_image,
        "detection_images": timing.n_images,
        "detection_load_s": timing.load_s,
        "detection_settings": speed.slug(),
        "detection_settings_from": speed_from,
        "train_s": train_s,
        "train_steps": trainer.global_step,
        "test_images": len(data.test_set),
        **data.summary(),
        "device": device_label(device),
        "torch": torch.__version__,
        "output_dir": str(output_dir),
        "created": records.timestamp(),
        "config": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
    }
    if cfg.save_checkpoint:
        torch.save({"widths": widths, "state_dict": net.state_dict(), "config": record["config"]}, output_dir / "model.pt")
    records.write_json(output_dir / "record.json", record)
    arrays = per_image_arrays(module)
    records.write_arrays(output_dir / "per_image.npz", arrays)
    records.file_record(record, cfg.paths.results_dir, arrays)
    finish_logger(logger, record)
    log.info(
        "%s (%s): max F %.4f, MAE %.4f, detection %.2f ms/image over %d images, %.1f M params, %.2f G MACs",
        record["experiment"], record["init_tag"], record["max_f"], record["mae"], timing.ms_per_image, timing.n_images, params / 1e6, macs / 1e9,
    )  # fmt: skip
    return record
