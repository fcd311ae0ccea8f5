"""The config: its schema (schema.py), composing it from the config groups (compose.py), the checks its types
cannot express (checks.py), Hydra's errors as one line (explain.py), and the fields' docs for --help (help.py).
"""
from ..paths import asset_path, config_dir  # noqa: F401
from .compose import command_overrides, compose, compose_command_line, narrow_method, open_free_maps  # noqa: F401
from .explain import did_you_mean  # noqa: F401
from .schema import (GROUPS, ChatConfig, DataConfig, DeepSpeedConfig, EvalConfig, ExportConfig,  # noqa: F401
                     GenerateConfig, MethodConfig, ModelConfig, PreviewConfig, TemplateConfig, TrainerConfig,
                     TuneConfig, group_options)
