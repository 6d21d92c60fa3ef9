"""Where a run's weights start: scratch, ImageNet VGG16, a checkpoint, or the trained baseline.

`init=baseline` is how the paper made its variants: take the trained FCN-8s of the same data
set and settings (the newest in the results store), cut the thinned layers down with
`init.rule`, and fine-tune. The baseline experiment itself starts from `init.baseline_from`,
so one sweep `experiment=baseline,a,...,h` trains the baseline first, then every variant from it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from fcn_ablation.config.settings_key import settings_key
from fcn_ablation.data.choices import ChannelOrder
from fcn_ablation.errors import DataError
from fcn_ablation.models.arch import WIDTH_LAYERS
from fcn_ablation.models.choices import InitSource, TransferRule
from fcn_ablation.models.fcn8s import FCN8s
from fcn_ablation.models.transfer import transfer
from fcn_ablation.models.vgg16 import TORCHVISION_INPUT, fold_input, load_vgg16
from fcn_ablation.store import records


def input_space(ds) -> dict:
    return {"channel_order": ChannelOrder(ds["channel_order"] if "channel_order" in ds else "rgb").value,
            "mean": [float(m) for m in ds["mean"]], "std": [float(s) for s in ds["std"]]}  # fmt: skip


def effective_source(cfg, is_baseline: bool) -> InitSource:
    source = InitSource(cfg.init.source)
    return InitSource(cfg.init.baseline_from) if source is InitSource.baseline and is_baseline else source


def initialise(net: FCN8s, cfg, is_baseline: bool, split_hash: str) -> dict:
    """Load the configured starting weights into `net`; returns what the record says of them."""
    source = effective_source(cfg, is_baseline)
    if source is InitSource.scratch:
        return {"source": "scratch", "tag": "scratch"}
    target = input_space(cfg.dataset)
    if source is InitSource.imagenet:
        state, origin = load_vgg16(cfg.init.path, cfg.init.url)
        fold_input(state, TORCHVISION_INPUT, target)
    else:
        path = Path(cfg.init.path).expanduser() if source is InitSource.checkpoint else find_baseline(cfg, split_hash)
        state, origin, space = _read_checkpoint(path)
        if space != target:
            fold_input(state, space, target)
    rule = TransferRule(cfg.init.rule).value
    if source is InitSource.imagenet:
        net.zero_scorers()  # VGG16 has none; a trained FCN's come with it (below)
    kept = transfer(state, net, rule, cfg.init.seed)
    narrowed = [n for n in WIDTH_LAYERS if len(kept[n]) < state[f"{n}.bias"].shape[0]]
    return {
        "source": source.value,
        "origin": origin,
        "rule": rule,
        "seed": cfg.init.seed,
        "narrowed_layers": narrowed,
        "tag": f"{rule} from {source.value}" if narrowed else source.value,
    }


def _read_checkpoint(path: Path) -> tuple[dict, str, dict]:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        state, ds = ckpt["state_dict"], ckpt["config"]["dataset"]
    except FileNotFoundError as err:
        raise DataError(f"{path}: checkpoint not found (init.path)") from err
    except Exception as err:
        raise DataError(f"{path}: not a checkpoint this project wrote ({type(err).__name__}: {err})") from err
    return state, str(path), input_space(ds)


def find_baseline(cfg, split_hash: str) -> Path:
    """The newest checkpoint of a baseline of the same data set, settings, split and seed,
    trained from `init.baseline_from` for the full budget (`is_reference_baseline`), in the
    results store. Seed-matched, so that a variant of seed s and the baseline of seed s form a pair."""
    store = records.store_dir(cfg.paths.results_dir, cfg.dataset.name, settings_key(cfg, split_hash))
    start = InitSource(cfg.init.baseline_from).value
    found = records.reference_baseline(store, cfg.paths.results_dir, start, cfg.seed)
    if found is None:
        raise DataError(
            f"init=baseline: no baseline trained from {start} with these settings and seed={cfg.seed} in {store}; "
            f"train it first with: python -m fcn_ablation {_baseline_command(cfg.seed)}"
        )
    return found


def _baseline_command(seed: int) -> str:
    """This job's command-line overrides, retargeted at the baseline of its seed."""
    try:
        from hydra.core.hydra_config import HydraConfig

        task = list(HydraConfig.get().overrides.task)
    except ValueError:  # not under Hydra
        task = []
    keep = [
        o
        for o in task
        if not o.lstrip("+~").startswith(("experiment=", "init.rule=", "init.seed=", "init.epochs=", "seed="))
    ]
    return " ".join([*keep, "experiment=baseline", f"seed={seed}"])
