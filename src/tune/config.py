"""Typed config schemas (dataclasses) for every group, registered with Hydra's ConfigStore, and the
one compose function the CLI, ``python -m tune.train`` and the notebook API all use.

A misspelt key or a wrong type fails at compose time with one line naming the key and the valid keys.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, fields, is_dataclass, make_dataclass
from typing import Any, List, Optional, get_type_hints

from .choices import choices
from .data.formats import FORMATS
from .distributed import is_main_process
from .data.templates import template_names
from .errors import ConfigError
from .methods import METHODS, all_method_fields, method_fields

DataFormat = choices("DataFormat", ["auto", *FORMATS], __name__)
OnError = choices("OnError", ["raise", "skip"], __name__)
InstructionMode = choices("InstructionMode", ["none", "fixed", "per_sample"], __name__)
TemplateName = choices("TemplateName", template_names(), __name__)
MethodName = choices("MethodName", METHODS, __name__)
Precision = choices("Precision", ["auto", "bf16", "fp16", "fp32"], __name__)
PreviewFormat = choices("PreviewFormat", ["jsonl", "text"], __name__)


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
    format: DataFormat = DataFormat.auto
    encoding: str = "utf-8"
    on_error: OnError = OnError["raise"]
    max_length: int = 1024
    train_on_prompt: bool = False
    mask_history: bool = False
    packing: bool = False
    cache: bool = True                        # reuse the tokenised examples of an identical earlier run
    group_by_length: bool = True              # each optimiser step's examples of similar length (less padding)
    val_size: float = 0.0                     # fraction (<1) or count (>=1) held out for eval
    num_proc: int = 1
    streaming: bool = False                   # read lazily (files larger than memory); needs trainer.max_steps
    system: Optional[str] = None              # replaces every conversation's system prompt
    max_samples: Optional[int] = None
    mix: List[Any] = field(default_factory=list)  # [{path, format, weight, encoding}]
    instruction_mode: InstructionMode = InstructionMode.none  # fixed: data.instruction; per_sample: one of data.instructions
    instruction: str = ""                     # "{input}" marks where the user's text goes; else it follows
    instructions: List[str] = field(default_factory=list)
    license: str = ""
    source: str = ""


@dataclass
class TemplateConfig:
    name: TemplateName = TemplateName.alpaca
    add_missing_tokens: bool = True           # add the template's control tokens the tokenizer lacks (else refuse)


# The schema Hydra composes ``method`` with: every method's fields (each method module declares its own
# structured config); compose() then narrows it to the chosen method's Config (see narrow_method).
MethodConfig = make_dataclass("MethodConfig", [(n, MethodName if n == "name" else t, f) for n, t, f in all_method_fields()])


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
    precision: Precision = Precision.auto
    gradient_checkpointing: bool = False
    peak_tflops: Optional[float] = None      # the accelerator's peak for MFU (default: GPU table / measured CPU)
    loss_chunk_tokens: int = 0                # labelled positions per chunk of fp32 logits (0: ~256 MiB of logits)
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
    format: PreviewFormat = PreviewFormat.jsonl


@dataclass
class ExportConfig:
    checkpoint: Optional[str] = None          # a training output folder, its model/ folder or a checkpoint-N
    out: Optional[str] = None                 # the standalone model's folder


@dataclass
class ChatConfig:
    checkpoint: Optional[str] = None
    max_new_tokens: int = 256
    temperature: float = 0.0


@dataclass
class GenerateConfig(ChatConfig):
    input: Optional[str] = None               # JSONL rows with prompt, messages, conversations or instruction
    out: Optional[str] = None                 # JSONL with the replies


@dataclass
class EvalConfig(ChatConfig):
    out: Optional[str] = None                 # folder for predictions.jsonl + eval_metrics.json (default CHECKPOINT/eval)
    limit: Optional[int] = None               # generate for the first N examples only
    batch_size: int = 8


COMMAND_GROUPS = {"export": ExportConfig, "chat": ChatConfig, "generate": GenerateConfig, "eval": EvalConfig}


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
    export: ExportConfig = field(default_factory=ExportConfig)
    chat: ChatConfig = field(default_factory=ChatConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


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
    m = re.search(r"Invalid value '([^']*)', expected one of \[([^\]]*)\]", msg)
    if m:
        key = full.group(1) if full else "?"
        return ConfigError(f"{key}: {m.group(1)!r} is not one of {m.group(2)}")
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
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3", job_name="tune"):
            cfg = hydra_compose(config_name="config", overrides=overrides)
    except Exception as err:  # Hydra raises several types; all become one line
        raise _explain(err, overrides) from None
    finally:
        GlobalHydra.instance().clear()
    OmegaConf.set_readonly(cfg, False)
    return narrow_method(cfg, overrides, _recipe_method_keys(recipe or _choice(overrides, "recipe")))


def _choice(overrides: list[str], group: str) -> Optional[str]:
    return next((o.split("=", 1)[1] for o in overrides if o.startswith(f"{group}=")), None)


def _recipe_method_keys(recipe: Optional[str]) -> set[str]:
    """The method fields a recipe sets (for the method it names)."""
    if not recipe:
        return set()
    from omegaconf import OmegaConf

    node = OmegaConf.load(os.path.join(config_dir(), "recipe", f"{recipe}.yaml")).get("method") or {}
    return {k for k in node if k != "name"}


def narrow_method(cfg, overrides: list[str], recipe_keys: set[str] = frozenset(), log=None):
    """The config with ``method`` narrowed to the chosen method's own structured config.

    A field of another method set by the user's overrides is an error naming the method's fields; one a recipe
    set for the method it names (``recipe=huatuo method=full``: its LoRA fields) is dropped with one line."""
    import dataclasses

    from omegaconf import OmegaConf

    name = cfg.method.name  # a valid one: method.name is typed by MethodName
    own = method_fields(name)
    explicit = {o.lstrip("+").split("=", 1)[0].split(".", 1)[1] for o in overrides
                if o.lstrip("+").startswith("method.") and "=" in o}
    foreign = sorted(explicit - set(own))
    if foreign:
        raise ConfigError(f"method.{foreign[0]}: method={name} has no such field (its fields: {', '.join(own[1:]) or 'none'})")
    defaults = {f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
                for f in fields(MethodConfig)}
    values = OmegaConf.to_container(cfg.method, resolve=True)
    dropped = sorted(k for k, v in values.items() if k not in own and (v != defaults[k] or k in recipe_keys))
    if dropped:
        (log or _stderr)(f"tune: method={name} has no {', '.join('method.' + k for k in dropped)} "
                         f"(set for another method by the recipe): dropped")
    container = OmegaConf.to_container(cfg, resolve=False)
    container["method"] = OmegaConf.structured(METHODS[name].Config(**{k: values[k] for k in own}))
    narrowed = OmegaConf.create(container, flags={"allow_objects": False})
    OmegaConf.set_struct(narrowed, True)
    return narrowed


def _stderr(msg: str) -> None:
    if is_main_process():
        print(msg, file=sys.stderr)


def command_overrides(command: str, overrides: list[str]) -> list[str]:
    """A command's own arguments may keep their short top-level spelling: ``tune chat checkpoint=DIR`` is
    ``chat.checkpoint=DIR``."""
    group = COMMAND_GROUPS.get(command)
    if group is None:
        return list(overrides)
    names = {f.name for f in fields(group)}
    return [f"{command}.{o}" if "=" in o and o.split("=", 1)[0] in names else o for o in overrides]


def compose_command_line(overrides: list[str]):
    """compose() from command-line words: ``recipe=NAME`` picks the preset, the rest are overrides."""
    return compose(_choice(overrides, "recipe"), [o for o in overrides if not o.startswith("recipe=")])
