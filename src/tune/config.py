"""Typed config schemas (dataclasses) for every group, registered with Hydra's ConfigStore, and the
one compose function the CLI, ``python -m tune.train`` and the notebook API all use.

A misspelt key or a wrong type fails at compose time with one line naming the key and the valid keys.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, fields, is_dataclass, make_dataclass
from typing import Any, Dict, List, Optional, get_type_hints

from .choices import choices
from .precision import Precision  # one enum of precisions: the trainer, export and QLoRA compute dtypes
from .data.formats import FORMATS
from .distributed import is_main_process
from .data.templates import template_names
from .errors import ConfigError
from .methods import all_method_fields, get_method, method_fields, methods

DataFormat = choices("DataFormat", ["auto", *FORMATS], __name__)
OnError = choices("OnError", ["raise", "skip"], __name__)
InstructionMode = choices("InstructionMode", ["none", "fixed", "per_sample"], __name__)
TemplateName = choices("TemplateName", template_names(), __name__)
MethodName = choices("MethodName", methods(), __name__)
PreviewFormat = choices("PreviewFormat", ["jsonl", "text"], __name__)


@dataclass
class TinyConfig:
    hidden_size: int = 128                    # the embedded tiny Llama's shape (built and cached on first use)
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    intermediate_size: int = 344
    vocab_size: int = 4096                    # its byte-level BPE vocabulary, trained on the bundled corpus
    seed: int = 0                             # its random initialisation


@dataclass
class ModelConfig:
    name_or_path: Optional[str] = None        # None or "tiny": the embedded default
    tiny: TinyConfig = field(default_factory=TinyConfig)
    trust_remote_code: bool = False           # run the model folder's own Python code (only when you ask, on the command line)
    attn_implementation: Optional[str] = None  # sdpa | eager | flash_attention_2 (None: sdpa where the model has it)


@dataclass
class DataConfig:
    name: Optional[str] = None               # a named dataset (configs/data/NAME.yaml)
    path: Optional[str] = None               # a file, a folder or a glob of .json/.jsonl/.csv/.tsv (.gz too)
    format: DataFormat = DataFormat.auto     # alpaca | sharegpt | openai | dolly | belle | firefly | qa ... (auto: detected)
    encoding: str = "utf-8"                  # the files' text encoding (gb18030 for some Chinese dumps)
    on_error: OnError = OnError["raise"]     # raise: stop at the first bad record; skip: count it by reason and go on
    max_length: int = 1024                   # tokens per example; longer ones are cut (and counted)
    train_on_prompt: bool = False            # label the prompt tokens too
    mask_history: bool = False               # label only the last assistant turn
    packing: bool = False                    # pack examples into rows of max_length (block-diagonal attention)
    cache: bool = True                        # reuse the tokenised examples of an identical earlier run
    group_by_length: bool = True              # each optimiser step's examples of similar length (less padding)
    val_size: float = 0.0                     # fraction (<1) or count (>=1) held out for eval
    num_proc: int = 1                        # processes for tokenisation (used above 1,000 records)
    streaming: bool = False                   # read lazily (files larger than memory); needs trainer.max_steps
    system: Optional[str] = None              # replaces every conversation's system prompt
    max_samples: Optional[int] = None        # keep the first N records
    mix: List[Any] = field(default_factory=list)  # [{path, format, weight, encoding, columns}]
    columns: Dict[str, str] = field(default_factory=dict)  # {instruction: KEY, input: KEY, output: KEY, ...}: rename fields
    ignore_fields: List[str] = field(default_factory=list)  # fields to leave unread (never a reason for auto to refuse)
    instruction_mode: InstructionMode = InstructionMode.none  # fixed: data.instruction; per_sample: one of data.instructions
    instruction: str = ""                     # "{input}" marks where the user's text goes; else it follows
    instructions: List[str] = field(default_factory=list)  # per_sample instruction mode: choices
    license: str = ""                        # the dataset's licence (named datasets)
    source: str = ""                         # where the dataset comes from (named datasets)


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
    per_device_train_batch_size: int = 4      # examples per micro-batch per device
    per_device_eval_batch_size: int = 4
    gradient_accumulation_steps: int = 1      # micro-batches per optimiser step
    num_train_epochs: float = 3.0
    max_steps: int = -1                       # > 0: stop after this many optimiser steps (overrides epochs)
    warmup_ratio: float = 0.0                 # fraction of the steps spent warming up the learning rate
    warmup_steps: int = 0                     # warm-up steps (wins over warmup_ratio when > 0)
    lr_scheduler_type: str = "cosine"         # cosine | linear | constant | constant_with_warmup ...
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0                # gradient clipping (0: off)
    optim: str = "adamw_torch"                # adamw_torch | adamw_8bit | paged_adamw_8bit | paged_adamw_32bit ...
    logging_steps: int = 10                   # a metrics.jsonl row every N steps
    save_steps: int = 500                     # a checkpoint-N folder every N steps
    save_total_limit: Optional[int] = 3       # checkpoints kept (oldest deleted)
    eval_steps: Optional[int] = None          # with data.val_size: evaluate every N steps (default: each epoch)
    seed: int = 42
    precision: Precision = Precision.auto     # auto: bf16 on GPUs that have it, else fp16 on GPU, fp32 on CPU
    gradient_checkpointing: Any = "auto"      # true | false | auto: on only when the run would not fit without it
    memory_limit_gb: Optional[float] = None   # the memory a run may use (default: what is available); a limit
    use_liger_kernel: bool = False            # Liger's Triton kernels (GPU; tune's own chunked loss stays the loss)
    torch_compile: bool = False               # torch.compile the model (TrainingArguments.torch_compile)
    peak_tflops: Optional[float] = None      # the accelerator's peak for MFU (default: GPU table / measured CPU)
    loss_chunk_tokens: int = 0                # labelled positions per chunk of fp32 logits (0: ~256 MiB of logits)
    resume: str = "false"                     # auto | RUN_FOLDER | CHECKPOINT_FOLDER | false
    trust_checkpoint_pickles: bool = False    # allow a DeepSpeed resume (its engine unpickles checkpoint files)
    report_to: List[str] = field(default_factory=lambda: ["tensorboard"])  # tensorboard | wandb | [] ...
    dataloader_num_workers: int = 0
    threads: Optional[int] = None             # torch CPU threads of each process (default: torch's; one per rank under accelerate launch)


@dataclass
class DeepSpeedConfig:
    name: str = "none"
    config: Any = None                        # the DeepSpeed JSON as a mapping; "auto" fields from trainer


@dataclass
class PreviewConfig:
    limit: Optional[int] = None               # show the first N rows
    out: Optional[str] = None                 # a file (default: stdout); never one of the inputs
    format: PreviewFormat = PreviewFormat.jsonl  # jsonl (the stable contract) | text (labelled spans marked)


@dataclass
class ExportConfig:
    checkpoint: Optional[str] = None          # a training output folder, its model/ folder or a checkpoint-N
    out: Optional[str] = None                 # the standalone model's folder
    dtype: Precision = Precision.auto         # the weights' dtype: auto (the base checkpoint's) | bf16 | fp16 | fp32


@dataclass
class ChatConfig:
    checkpoint: Optional[str] = None          # a training output folder, its model/ folder or a checkpoint-N
    max_new_tokens: int = 256
    temperature: float = 0.0                  # 0: greedy


@dataclass
class GenerateConfig(ChatConfig):
    input: Optional[str] = None               # JSONL rows with prompt, messages, conversations or instruction
    out: Optional[str] = None                 # JSONL with the replies
    on_error: OnError = OnError["raise"]      # raise: stop at the first bad row; skip: answer the good ones, count the rest


@dataclass
class EvalConfig(ChatConfig):
    out: Optional[str] = None                 # folder for predictions.jsonl + eval_metrics.json (default CHECKPOINT/eval)
    limit: Optional[int] = None               # generate for the first N examples only
    batch_size: int = 8                       # examples per forward pass


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
    """The options of a config group: its YAML files, and for ``method`` every registered method (a method
    module needs no YAML: its Config is stored with Hydra when it has none)."""
    folder = os.path.join(config_dir(), group)
    found = {f[: -len(".yaml")] for f in os.listdir(folder) if f.endswith(".yaml")} if os.path.isdir(folder) else set()
    if group == "method":
        found |= set(methods())
    return sorted(found)


def asset_path(rel: str) -> str:
    """Absolute path of a file bundled in tune/assets (``${tune_asset:demo/alpaca_demo.json}`` in YAML)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", rel)


def _register() -> None:
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    store = ConfigStore.instance()
    store.store(name="tune_schema", node=TuneConfig)
    for name, method in methods().items():
        if not os.path.isfile(os.path.join(config_dir(), "method", f"{name}.yaml")):
            store.store(group="method", name=name, node={"name": name})
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


def _edits(a: str, b: str) -> int:
    """Edit distance counting a swap of two neighbours as one edit (optimal string alignment): 'chatlm' is one
    edit from 'chatml', which difflib's ratio ranks below 'chatglm3'."""
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _did_you_mean(word: str, choices: list[str]) -> str:
    import difflib

    if not choices:
        return ""
    edits, _, nearest = min((_edits(word.lower(), c.lower()), -difflib.SequenceMatcher(None, word, c).ratio(), c)
                            for c in choices)
    if edits <= max(1, len(word) // 3):
        return f"did you mean {nearest}? "
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]}? " if close else ""


def _explain(err: Exception, overrides: list[str]) -> ConfigError:
    """Hydra/OmegaConf errors are long; say the key and the valid choices in one line (with a close match)."""
    msg = f"{err}\n{err.__cause__ or ''}"
    m = re.search(r"Could not find '(\w+)/([^']*)'", msg) or re.search(r"In '[^']*': Could not find '(\w+)/([^']*)'", msg)
    if m:
        group, name = m.group(1), m.group(2)
        options = group_options(group)
        return ConfigError(f"{group}={name}: unknown {group} ({_did_you_mean(name, options)}valid: {', '.join(options)})")
    m = re.search(r"Key '(\w+)' (?:is not in struct|not in '\w+')", msg)
    full = re.search(r"full_key: ([\w.]+)", msg)
    if m:
        key = full.group(1) if full else m.group(1)
        valid = _valid_keys(key)
        hint = _did_you_mean(key.rsplit(".", 1)[-1], valid)
        return ConfigError(f"{key}: unknown key" + (f" ({hint}valid: {', '.join(valid)})" if valid else ""))
    m = re.search(r"Invalid value '([^']*)', expected one of \[([^\]]*)\]", msg)
    if m:
        key = full.group(1) if full else "?"
        hint = _did_you_mean(m.group(1), [c.strip() for c in m.group(2).split(",")]).strip()
        return ConfigError(f"{key}: {m.group(1)!r} is not one of {m.group(2)}" + (f" ({hint})" if hint else ""))
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
    chosen = recipe or _choice(overrides, "recipe")
    if chosen and chosen not in group_options("recipe"):
        options = group_options("recipe")
        raise ConfigError(f"recipe={chosen}: unknown recipe ({_did_you_mean(chosen, options)}valid: {', '.join(options)})")
    if recipe:
        overrides = [f"recipe={recipe}"] + overrides
    overrides = open_free_maps(overrides)
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3", job_name="tune"):
            cfg = hydra_compose(config_name="config", overrides=overrides)
    except Exception as err:  # Hydra raises several types; all become one line
        raise _explain(err, overrides) from None
    finally:
        GlobalHydra.instance().clear()
    OmegaConf.set_readonly(cfg, False)
    check_added_keys(overrides)
    check_values(cfg)
    check_remote_code_grant(cfg, overrides)
    return narrow_method(cfg, overrides, _recipe_method_keys(recipe or _choice(overrides, "recipe")))


# Mappings whose keys are the user's (data.columns: canonical field -> the record's key). Hydra's struct mode
# refuses a new key in them unless spelt +data.columns.KEY=...; the documented spellings are rewritten to that.
FREE_MAPS = ("data.columns",)


def open_free_maps(overrides: list[str]) -> list[str]:
    """``data.columns={instruction: q, output: a}`` and ``data.columns.instruction=q`` as Hydra needs them:
    ``+data.columns.instruction=q`` each (a whole mapping also clears the keys set before it)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    out = []
    for o in overrides:
        key, eq, value = o.partition("=")
        bare = key.lstrip("+~")
        prefix = next((m for m in FREE_MAPS if bare == m or bare.startswith(m + ".")), None)
        if not eq or prefix is None or key.startswith("~"):
            out.append(o)
        elif bare == prefix:
            try:
                mapping = OverridesParser.create().parse_override(f"{prefix}={value}").value()
            except Exception:  # Hydra's grammar errors: the same answer as a value that parses but is no mapping
                mapping = None
            if not isinstance(mapping, dict):
                raise ConfigError(f"{o}: not a mapping (write {prefix}={{instruction: KEY, output: KEY}})")
            out.append(f"{prefix}={{}}")
            out += [f"+{prefix}.{k}={v}" for k, v in mapping.items()]
        else:
            out.append(f"+{bare}={value}")
    return out


def check_added_keys(overrides: list[str]) -> None:
    """``+section.key=value`` adds a key Hydra would otherwise refuse: in a structured section a key the schema
    lacks is a misspelling that would be silently ignored, so it is refused like ``section.key=value`` is."""
    import dataclasses
    import typing

    for o in overrides:
        if not o.startswith("+") or "=" not in o:
            continue
        path = o.lstrip("+").split("=", 1)[0].split(".")
        schema = TuneConfig
        for depth, key in enumerate(path):
            hints = typing.get_type_hints(schema)
            if key not in hints:
                valid = ", ".join(f.name for f in dataclasses.fields(schema))
                where = ".".join(path[: depth + 1])
                raise ConfigError(f"{where}: unknown key, a + override would add it and nothing would read it "
                                  f"(valid: {valid})")
            nxt = hints[key]
            if not dataclasses.is_dataclass(nxt):
                break  # a value or a free mapping (deepspeed.config): anything below is the user's
            schema = nxt


def check_values(cfg) -> None:
    """Values that type-check but cannot train: one line naming the key and what would work."""
    t, d = cfg.trainer, cfg.data
    checks = [
        (t.max_steps == 0 or t.max_steps < -1, "trainer.max_steps", t.max_steps, "give a positive step count, or -1 to train trainer.num_train_epochs"),
        (t.max_steps == -1 and t.num_train_epochs <= 0, "trainer.num_train_epochs", t.num_train_epochs, "give a positive number of epochs"),
        (t.learning_rate < 0, "trainer.learning_rate", t.learning_rate, "give a rate of 0 or more"),
        (t.per_device_train_batch_size < 1, "trainer.per_device_train_batch_size", t.per_device_train_batch_size, "give 1 or more"),
        (t.per_device_eval_batch_size < 1, "trainer.per_device_eval_batch_size", t.per_device_eval_batch_size, "give 1 or more"),
        (t.gradient_accumulation_steps < 1, "trainer.gradient_accumulation_steps", t.gradient_accumulation_steps, "give 1 or more"),
        (t.save_steps < 1, "trainer.save_steps", t.save_steps, "give 1 or more"),
        (t.logging_steps < 1, "trainer.logging_steps", t.logging_steps, "give 1 or more"),
        (t.threads is not None and t.threads < 1, "trainer.threads", t.threads, "give 1 or more"),
        (t.memory_limit_gb is not None and t.memory_limit_gb <= 0, "trainer.memory_limit_gb", t.memory_limit_gb, "give a size in GB above 0"),
        (d.max_length < 2, "data.max_length", d.max_length, "give 2 tokens or more"),
        (d.val_size < 0, "data.val_size", d.val_size, "give a fraction below 1 or a count"),
    ]
    for bad, key, value, fix in checks:
        if bad:
            raise ConfigError(f"{key}={value}: {fix}")
    check_checkpointing_setting(t)
    out = t.output_dir
    if out and os.path.exists(out) and not os.path.isdir(out):
        raise ConfigError(f"trainer.output_dir: {out!r} is a file (give a folder)")


def check_checkpointing_setting(t) -> None:
    """trainer.gradient_checkpointing is true, false or auto (Hydra reads true/false as booleans and auto as a
    string; a quoted 'true' from a YAML file becomes the boolean)."""
    value = t.gradient_checkpointing
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "auto"):
        value = value.strip().lower()
        t.gradient_checkpointing = value if value == "auto" else value == "true"
    elif not isinstance(value, bool):
        raise ConfigError(f"trainer.gradient_checkpointing={value}: give true, false or auto (auto: on only when the "
                          "run would not fit in memory without it)")


def _granted_by_user(overrides: list[str], key: str) -> bool:
    for o in overrides:
        name, _, value = o.partition("=")
        if name.lstrip("+~") == key and value.strip().lower() in ("true", "1", "yes"):
            return True
    return False


def check_remote_code_grant(cfg, overrides: list[str]) -> None:
    """Remote code runs only when the user's own overrides ask for it: a recipe or model group that sets
    model.trust_remote_code (ChatGLM) must not carry it to whatever folder model.name_or_path now points at.
    The tiny default has no code of its own, so there the flag is simply dropped."""
    if not cfg.model.trust_remote_code or _granted_by_user(overrides, "model.trust_remote_code"):
        return
    if cfg.model.name_or_path in (None, "", "tiny"):
        cfg.model.trust_remote_code = False
        return
    raise ConfigError(f"model.trust_remote_code: {cfg.model.name_or_path} needs its own Python code to run (the recipe "
                      "or model config asks for it, your command line does not); add model.trust_remote_code=true "
                      "if you trust that model folder")


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

    Composition merges every method's fields into one loose schema, whose defaults are whichever method declared
    a field first; here each field the chosen method has takes the value someone set (the method's YAML, the
    recipe, the command line) or else the method's own default, so a method's Config decides its defaults.
    A field of another method set by the user's overrides is an error naming the method's fields; one a recipe
    set for the method it names (``recipe=huatuo method=full``: its LoRA fields) is dropped with one line."""
    import dataclasses

    from omegaconf import OmegaConf

    name = cfg.method.name  # a valid one: method.name is typed by MethodName
    method = get_method(name)
    own = method_fields(name)
    explicit = {o.lstrip("+").split("=", 1)[0].split(".", 1)[1] for o in overrides
                if o.lstrip("+").startswith("method.") and "=" in o}
    foreign = sorted(explicit - set(own))
    if foreign:
        raise ConfigError(f"method.{foreign[0]}: method={name} has no such field (its fields: {', '.join(own[1:]) or 'none'})")
    loose = {f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
             for f in fields(MethodConfig)}
    values = OmegaConf.to_container(cfg.method, resolve=True)
    dropped = sorted(k for k, v in values.items() if k not in own and (v != loose[k] or k in recipe_keys))
    if dropped:
        (log or _stderr)(f"tune: method={name} has no {', '.join('method.' + k for k in dropped)} "
                         f"(set for another method by the recipe): dropped")
    set_keys = explicit | set(recipe_keys) | _yaml_keys("method", name)
    mine = {k: values[k] for k in own if k in set_keys or values[k] != loose[k]}
    container = OmegaConf.to_container(cfg, resolve=False)
    narrowed_method = method.Config(**mine)
    method.check_values(narrowed_method)
    container["method"] = OmegaConf.structured(narrowed_method)
    narrowed = OmegaConf.create(container, flags={"allow_objects": False})
    OmegaConf.set_struct(narrowed, True)
    return narrowed


def _yaml_keys(group: str, option: str) -> set[str]:
    """The keys configs/GROUP/OPTION.yaml sets (none when there is no such file)."""
    from omegaconf import OmegaConf

    path = os.path.join(config_dir(), group, f"{option}.yaml")
    return set(OmegaConf.load(path).keys()) if os.path.isfile(path) else set()


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
