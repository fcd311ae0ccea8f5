"""Each default lives in one place, the schema's dataclass: no config group YAML restates a field at its default
value (a method's or template's YAML names its option; method defaults come from each method's own Config,
tests/unit/test_method_configs.py)."""
import dataclasses
import os

import pytest
from omegaconf import OmegaConf

from tune.config import DataConfig, DeepSpeedConfig, ModelConfig, TemplateConfig, TrainerConfig, config_dir

SCHEMAS = {"data": DataConfig, "trainer": TrainerConfig, "model": ModelConfig, "deepspeed": DeepSpeedConfig,
           "template": TemplateConfig}


def default(f):
    value = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    value = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
    return getattr(value, "value", value)  # a choice's plain string


@pytest.mark.parametrize("group", sorted(SCHEMAS))
def test_no_group_yaml_restates_a_default(group):
    defaults = {f.name: default(f) for f in dataclasses.fields(SCHEMAS[group])}
    restated = []
    for name in sorted(os.listdir(os.path.join(config_dir(), group))):
        loaded = OmegaConf.load(os.path.join(config_dir(), group, name))
        node = OmegaConf.to_container(loaded, resolve=False) if OmegaConf.is_config(loaded) else {}
        restated += [f"{name}: {k}: {v!r}" for k, v in (node or {}).items()
                     if k != "name" and k in defaults and v == defaults[k]]
    assert restated == []
