"""Typed config schemas (dataclasses) for every group, registered with Hydra's ConfigStore, and the
one compose function the CLI, ``python -m tune.train`` and the notebook API all use.

A misspelt key or a wrong type fails at compose time with one line naming the key and the valid keys.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, List, Optional, get_type_hints

from .errors import ConfigError


@dataclass
class TinyConfig:
    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    intermediate_size: int = 344
    vocab_size: int = 4096
    seed: int = 0


@dataclass
class ModelConfig:
    name_or_path: Optional[str] = None        # None or "tiny": the embedded default
    tiny: TinyConfig = field(default_factory=TinyConfig)
    trust_remote_code: bool = False
    attn_implementation: Optional[str] = None  # e.g. sdpa, eager, flash_attention_2


@dataclass
class DataConfig:
    name: Optional[str] = None
    path: Optional[str] = None
    format: str = "auto"
    encoding: str = "utf-8"
    on_error: str = "raise"                   # raise | skip
    max_length: int = 1024
    train_on_prompt: bool = False
    mask_history: bool = False
    packing: bool = False
    val_size: float = 0.0                     # fraction (<1) or count (>=1) held out for eval
    num_proc: int = 1
    streaming: bool = False                   # read lazily (files larger than memory); needs trainer.max_steps
    system: Optional[str] = None              # replaces every conversation's system prompt
    max_samples: Optional[int] = None
    mix: List[Any] = field(default_factory=list)  # [{path, format, weight, encoding}]
    instruction_mode: str = "none"            # none | fixed (data.instruction) | per_sample (one of data.instructions)
    instruction: str = ""                     # "{input}" marks where the user's text goes; else it follows
    instructions: List[str] = field(default_factory=list)
    license: str = ""
    source: str = ""


@dataclass
class TemplateConfig:
    name: str = "alpaca"
    add_missing_tokens: bool = True           # add the template's control tokens the tokenizer lacks (else refuse)


@dataclass
class MethodConfig:
    name: str = "lora"
    # freeze
    trainable_layers: int = 2                 # the last N decoder layers train
    train_embeddings: bool = False
    train_lm_head: bool = False
    # lora / qlora
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: List[str] = field(default_factory=lambda: ["q_proj", "v_proj"])  # or ["all-linear"]
    modules_to_save: List[str] = field(default_factory=list)
    init_adapter: Optional[str] = None        # continue training from this LoRA adapter folder
    use_dora: bool = False
    use_rslora: bool = False
    # qlora
    quant_type: str = "nf4"
    double_quant: bool = True
    compute_dtype: str = "auto"               # auto: the training precision
    # ptuning_v2
    num_virtual_tokens: int = 128
    prefix_projection: bool = False
    encoder_hidden_size: int = 0              # 0: the model's hidden size
    quantization_bit: int = 0                 # 4 or 8: load the frozen base quantised (bitsandbytes)


@dataclass
class TrainerConfig:
    output_dir: Optional[str] = None          # default: outputs/<run_name>-<timestamp>
    learning_rate: float = 2e-4
    per_device_train_batch_size: int = 4
    per_device_eval_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    num_train_epochs: float = 3.0
    max_steps: int = -1
    warmup_ratio: float = 0.0
    warmup_steps: int = 0
    lr_scheduler_type: str = "cosine"
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    optim: str = "adamw_torch"                # adamw_torch | adamw_8bit | paged_adamw_8bit | paged_adamw_32bit ...
    logging_steps: int = 10
    save_steps: int = 500
    save_total_limit: Optional[int] = 3
    eval_steps: Optional[int] = None
    seed: int = 42
    precision: str = "auto"                   # auto | bf16 | fp16 | fp32
    gradient_checkpointing: bool = False
    resume: str = "false"                     # auto | PATH | false
    report_to: List[str] = field(default_factory=lambda: ["tensorboard"])
    dataloader_num_workers: int = 0


@dataclass
class DeepSpeedConfig:
    name: str = "none"
    config: Any = None                        # the DeepSpeed JSON as a mapping; "auto" fields from trainer


@dataclass
class PreviewConfig:
    limit: Optional[int] = None
    out: Optional[str] = None
    format: str = "jsonl"                     # jsonl | text


@dataclass
class EvalConfig:
    out: Optional[str] = None                 # folder for predictions.jsonl + eval_metrics.json (default CHECKPOINT/eval)
    limit: Optional[int] = None               # generate for the first N examples only
    batch_size: int = 8


@dataclass
class TuneConfig:
    run_name: str = "custom"
    debug: bool = False
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    template: TemplateConfig = field(default_factory=TemplateConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    deepspeed: DeepSpeedConfig = field(default_factory=DeepSpeedConfig)
    preview: PreviewConfig = field(default_factory=PreviewConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    # free-form arguments of the tools (tune export/chat/generate/eval): checkpoint=..., out=..., input=...
    checkpoint: Optional[str] = None
    out: Optional[str] = None
    input: Optional[str] = None
    max_new_tokens: int = 256
    temperature: float = 0.0


GROUPS = ("model", "data", "template", "method", "trainer", "deepspeed", "recipe")


def config_dir() -> str:
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")


def group_options(group: str) -> list[str]:
    folder = os.path.join(config_dir(), group)
    if not os.path.isdir(folder):
        return []
    return sorted(f[: -len(".yaml")] for f in os.listdir(folder) if f.endswith(".yaml"))


def asset_path(rel: str) -> str:
    """Absolute path of a file bundled in tune/assets (``${tune_asset:demo/alpaca_demo.json}`` in YAML)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", rel)


def _register() -> None:
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    ConfigStore.instance().store(name="tune_schema", node=TuneConfig)
    if not OmegaConf.has_resolver("tune_asset"):
        OmegaConf.register_new_resolver("tune_asset", asset_path)


def _valid_keys(path: str) -> list[str]:
    """The field names of the dataclass that holds ``path``'s last part ([] when not a schema node)."""
    node: Any = TuneConfig
    for part in path.split(".")[:-1]:
        hint = get_type_hints(node).get(part) if is_dataclass(node) else None
        if hint is None:
            return []
        node = hint
    return [f.name for f in fields(node)] if is_dataclass(node) else []


def _explain(err: Exception, overrides: list[str]) -> ConfigError:
    """Hydra/OmegaConf errors are long; say the key and the valid choices in one line."""
    msg = f"{err}\n{err.__cause__ or ''}"
    m = re.search(r"Could not find '(\w+)/([^']*)'", msg) or re.search(r"In '[^']*': Could not find '(\w+)/([^']*)'", msg)
    if m:
        group, name = m.group(1), m.group(2)
        return ConfigError(f"{group}={name}: unknown {group} (valid: {', '.join(group_options(group))})")
    m = re.search(r"Key '(\w+)' (?:is not in struct|not in '\w+')", msg)
    full = re.search(r"full_key: ([\w.]+)", msg)
    if m:
        key = full.group(1) if full else m.group(1)
        valid = _valid_keys(key)
        return ConfigError(f"{key}: unknown key" + (f" (valid: {', '.join(valid)})" if valid else ""))
    m = re.search(r"Value '([^']*)' (?:of type '\w+' )?could not be converted to (\w+)", msg)
    if m:
        key = full.group(1) if full else "?"
        return ConfigError(f"{key}: {m.group(1)!r} is not a valid {m.group(2)}")
    first = msg.strip().splitlines()[0] if msg.strip() else type(err).__name__
    return ConfigError(f"config: {first}")


def compose(recipe: Optional[str] = None, overrides: Optional[list[str]] = None):
    """The resolved config (an OmegaConf DictConfig typed by TuneConfig) for a recipe and overrides.

    Same as the command line ``recipe=NAME override ...``; touches neither sys.argv nor the cwd.
    """
    from hydra import compose as hydra_compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    _register()
    overrides = list(overrides or [])
    if recipe:
        if recipe not in group_options("recipe"):
            raise ConfigError(f"recipe={recipe}: unknown recipe (valid: {', '.join(group_options('recipe'))})")
        overrides = [f"recipe={recipe}"] + overrides
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base=None, job_name="tune"):
            cfg = hydra_compose(config_name="config", overrides=overrides)
    except Exception as err:  # Hydra raises several types; all become one line
        raise _explain(err, overrides) from None
    finally:
        GlobalHydra.instance().clear()
    OmegaConf.set_readonly(cfg, False)
    return cfg


def compose_command_line(overrides: list[str]):
    """compose() from command-line words: ``recipe=NAME`` picks the preset, the rest are overrides."""
    recipe = next((o.split("=", 1)[1] for o in overrides if o.startswith("recipe=")), None)
    return compose(recipe, [o for o in overrides if not o.startswith("recipe=")])
