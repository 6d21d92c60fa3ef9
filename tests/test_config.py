"""The config groups compose, new experiments need only a YAML file, bad values fail clearly."""

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError, ValidationError

from fcn_ablation.checks import validate
from fcn_ablation.errors import ConfigError
from fcn_ablation.models.arch import BASE_WIDTHS
from fcn_ablation.run import widths_from_config


def test_defaults_are_the_cpu_baseline_on_synthetic_data(compose_cfg):
    """What the README promises of the first command: the CPU preset exactly (1/16 of every width,
    no dropout, 7 epochs of 480 images of 96x96 from scratch, AdamW), so a change of it fails here."""
    cfg = compose_cfg()
    assert (cfg.experiment.name, cfg.dataset.name, cfg.preset, cfg.recipe) == ("baseline", "synthetic", "cpu", "modern")
    assert (cfg.trainer.accelerator, cfg.trainer.max_epochs, cfg.model.width_multiplier, cfg.model.dropout) == (
        "cpu",
        7,
        0.0625,
        0.0,
    )
    assert (cfg.dataset.synthetic.num_images, cfg.dataset.synthetic.size, cfg.dataset.split.train) == (600, 96, 0.8)
    assert (cfg.optimizer.name.value, cfg.init.source.value, cfg.logger.mode) == ("adamw", "scratch", "offline")
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


@pytest.mark.parametrize(
    "override, names",
    [
        ("+experiment.factors.conv9_9=0.5", "conv9_9"),
        ("experiment.halve=[fc8]", "fc8"),
        ("+experiment.factors.fc6=-0.5", "experiment.factors.fc6"),
        ("model.width_multiplier=-1", "model.width_multiplier"),
        ("dataset.split.test=0.5", "dataset.split"),
        ("optimizer.lr=0", "optimizer.lr"),
        ("logger.name=tensorboard", "logger.name"),
    ],
)
def test_invalid_values_name_the_key(compose_cfg, override, names):
    cfg = compose_cfg([override])
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        validate(cfg)


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
