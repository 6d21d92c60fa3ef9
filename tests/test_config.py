"""The config groups compose, new experiments need only a YAML file, bad values fail clearly."""

import re
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError, ValidationError

from fcn_ablation.config.checks import validate
from fcn_ablation.errors import ConfigError
from fcn_ablation.models.arch import BASE_WIDTHS
from fcn_ablation.training.job import widths_from_config


def test_defaults_are_the_cpu_baseline_on_synthetic_data(compose_cfg):
    """What the README promises of the first command: the CPU preset exactly (1/16 of every width,
    no dropout, 6 epochs of 480 images of 96x96 in batches of 8 from scratch, AdamW at 2e-3), so a
    change of it fails here."""
    cfg = compose_cfg()
    assert (cfg.experiment.name, cfg.dataset.name, cfg.preset, cfg.recipe) == ("baseline", "synthetic", "cpu", "modern")
    assert (cfg.trainer.accelerator, cfg.trainer.max_epochs, cfg.model.width_multiplier, cfg.model.dropout) == (
        "cpu",
        6,
        0.0625,
        0.0,
    )
    assert (cfg.dataset.batch_size, cfg.optimizer.lr) == (8, 2e-3)
    assert (cfg.dataset.synthetic.num_images, cfg.dataset.synthetic.size, cfg.dataset.split.train) == (600, 96, 0.8)
    assert (cfg.optimizer._target_, cfg.init.source.value, cfg.logger.mode) == (
        "torch.optim.AdamW",
        "scratch",
        "offline",
    )
    _, widths = widths_from_config(cfg)
    assert (widths["conv1_1"], widths["conv5_3"], widths["fc7"]) == (4, 32, 256)


def test_paper_preset_is_full_width_on_a_gpu(compose_cfg):
    cfg = compose_cfg(["preset=paper", "experiment=f"])
    assert cfg.model.width_multiplier == 1.0 and cfg.trainer.accelerator == "gpu"
    _, widths = widths_from_config(cfg)
    assert widths["fc6"] == 2048 and widths["fc7"] == 4096


def test_a_user_experiment_is_one_yaml_file(compose_cfg, tmp_path):
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "my_variant.yaml").write_text(
        "description: halve conv1, quarter fc7\nhalve: [conv1_1, conv1_2]\nfactors: {fc7: 0.25}\n"
    )
    cfg = compose_cfg([f"hydra.searchpath=[file://{tmp_path}]", "experiment=my_variant", "model.width_multiplier=1"])
    assert cfg.experiment.name == "my_variant"
    _, widths = widths_from_config(cfg)
    assert widths == {**BASE_WIDTHS, "conv1_1": 32, "conv1_2": 32, "fc7": 1024}


def test_a_new_optimiser_or_logger_is_one_yaml_file(compose_cfg, tmp_path):
    """The two examples of docs/configuration.md, verbatim: the optimiser gets its own arguments and Caffe's two
    parameter groups; the logger its own arguments and the job folder."""
    import re

    import torch
    from pytorch_lightning.loggers import CSVLogger

    from fcn_ablation.models.fcn8s import FCN8s
    from fcn_ablation.models.widths import build_widths
    from fcn_ablation.training.job import make_module, optimizer_config, plan_job
    from fcn_ablation.training.loggers import make_logger

    readme = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    block = re.search(r"```yaml\n(# conf/optimizer/rmsprop.yaml.*?)```", readme, re.S).group(1).splitlines()
    files = {}
    for half, name in ((slice(0, 51), "optimizer/rmsprop.yaml"), (slice(51, None), "logger/csv_slow.yaml")):
        files[name] = "\n".join(line[half].rstrip() for line in block[1:])
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    cfg = compose_cfg([f"hydra.searchpath=[file://{tmp_path}]", "optimizer=rmsprop", "logger=csv_slow"])
    validate(cfg)
    validate(
        compose_cfg(["+optimizer._partial_=true"])
    )  # as lightning-hydra-template writes it: Hydra's key, not AdamW's
    net = FCN8s(build_widths({}, 1 / 32))
    opt = make_module(net, optimizer_config(cfg.optimizer, plan_job(cfg).start)).configure_optimizers()
    assert isinstance(opt, torch.optim.RMSprop) and (opt.defaults["lr"], opt.defaults["alpha"]) == (1e-4, 0.9)
    weights, biases = opt.param_groups
    assert (weights["weight_decay"], biases["weight_decay"], biases["lr"]) == (1e-4, 0.0, 1e-4)
    logger = make_logger(cfg, tmp_path / "job", group=None)
    assert isinstance(logger, CSVLogger) and Path(logger.log_dir) == tmp_path / "job"
    assert logger._flush_logs_every_n_steps == 500


@pytest.mark.parametrize(
    "override, names",
    [
        ("+experiment.factors.conv9_9=0.5", "conv9_9"),
        ("experiment.halve=[fc8]", "fc8"),
        ("+experiment.factors.fc6=-0.5", "experiment.factors.fc6"),
        ("model.width_multiplier=-1", "model.width_multiplier"),
        ("dataset.split.test=0.5", "dataset.split"),
        ("optimizer.lr=0", "optimizer.lr"),
        ("logger._target_=torch.nn.Linear", "logger._target_: torch.nn.Linear is not a"),
        ("optimizer._target_=torch.optim.Nadam2", "optimizer._target_: cannot import 'torch.optim.Nadam2'"),
        ("optimizer.lr=fast", "optimizer.lr: Value 'fast'"),
        ("optimizer.schedule=sometimes", "optimizer.schedule: Invalid value 'sometimes'"),
        # issue 33, point 5: every numeric setting in its range
        ("model.width_multiplier=1e-9", "model.width_multiplier=1e-09 leaves conv1_1 64 x 1 x 1e-09"),
        ("model.width_multiplier=0.01", "use model.width_multiplier >= 0.015625"),
        (
            "+experiment.factors.fc7=0.0001",
            "leaves fc7 4096 x 0.0001 x 0.0625 = 0.0256 channels, under the 1 every "
            "layer needs: use a factor >= 0.00390625 for fc7",
        ),
        ("report.width_multiplier=0.001", "report.width_multiplier=0.001 leaves conv1_1"),
        ("trainer.max_epochs=-1", "trainer.max_epochs=-1 (no limit) with trainer.max_steps=-1 (no limit) would train"),
        ("trainer.max_epochs=-2", "trainer.max_epochs: must be >= 0, or -1"),
        ("trainer.max_steps=-5", "trainer.max_steps: must be -1 (no limit) or >= 0, got -5"),
        ("trainer.log_every_n_steps=0", "trainer.log_every_n_steps: must be at least 1, got 0"),
        ("trainer.check_val_every_n_epoch=0", "trainer.check_val_every_n_epoch: must be at least 1"),
        ("trainer.gradient_clip_val=-1", "trainer.gradient_clip_val: must be positive, or null"),
        ("dataset.batch_size=0", "dataset.batch_size: must be at least 1, got 0"),
        ("dataset.synthetic.num_images=0", "dataset.synthetic.num_images: must be at least 1"),
        ("dataset.synthetic.size=0", "dataset.synthetic.size: must be at least 1"),
        ("dataset.synthetic.seed=-1", "dataset.synthetic.seed: must be in 0 .. 4294967295"),
        ("seed=-1", "seed: must be in 0 .. 4294967295"),
        ("timing.max_images=0", "timing.max_images: must be at least 1, or null"),
        ("cost.height=0", "cost.height: must be at least 1"),
        ("init.epochs=0", "init.epochs: must be at least 1, or null"),
        ("optimizer.lr=-1", "optimizer.lr: must be positive"),
        ("optimizer.weight_decay=-1", "optimizer.weight_decay: must be >= 0"),
    ],
)
def test_invalid_values_name_the_key(compose_cfg, override, names):
    cfg = compose_cfg([override])
    with pytest.raises(ConfigError, match=re.escape(names)):
        validate(cfg)


@pytest.mark.parametrize("override", ["trainer.max_epochs=0", "trainer.max_steps=0", "trainer.max_epochs=-1 trainer.max_steps=5",
                                      "model.width_multiplier=0.015625", "timing.max_images=null"])  # fmt: skip
def test_the_edges_of_each_range_and_the_documented_no_limit_pass(compose_cfg, override):
    validate(compose_cfg(override.split()))


@pytest.mark.parametrize(
    "override", ["model.widht_multiplier=0.5", "trainer.max_epoch=3", "model.width_multiplier=wide"]
)
def test_typos_and_wrong_types_fail_at_composition(compose_cfg, override):
    with pytest.raises((ConfigCompositionException, ValidationError, ConfigKeyError)) as err:
        compose_cfg([override])
    assert override.split("=")[0].split(".")[-1] in str(err.value) + str(err.value.__cause__)


def test_unknown_experiment_file_is_a_clear_error(compose_cfg):
    with pytest.raises(ConfigCompositionException, match="experiment"):
        compose_cfg(["experiment=zz"])


def test_all_table2_experiments_exist_and_describe_themselves(compose_cfg):
    for name in ["baseline", *"abcdefgh"]:
        cfg = compose_cfg([f"experiment={name}"])
        assert cfg.experiment.name == name and cfg.experiment.description
        validate(cfg)


def test_the_cluster_launcher_asks_for_a_gpu_only_for_a_gpu_trainer_and_for_no_memory():
    """Defaults any cluster accepts: no memory request, and a GPU only where the trainer uses one."""
    from helpers import compose_config

    cpu = compose_config(["launcher=submitit_slurm"])
    gpu = compose_config(["launcher=submitit_slurm", "trainer=gpu"])
    assert cpu.hydra.launcher.gpus_per_node is None and cpu.hydra.launcher.mem_gb is None
    assert gpu.hydra.launcher.gpus_per_node == 1
