"""The config's schema: one structured dataclass per section, which Hydra composes with and OmegaConf types
by, so a misspelt key or a wrong type fails at compose time. The data section's schema is the data layer's own
(data/config.py); a method's fields are its module's Config (merged loosely here, narrowed at compose time);
an export format's fields are its module's Options.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, make_dataclass
from typing import Any, List, Optional

from ..choices import choices
from ..data.config import DataConfig, DataFormat, InstructionMode, OnError  # noqa: F401  (re-exported)
from ..data.templates import template_names
from ..exports import formats
from ..methods import all_method_fields, methods
from ..paths import config_dir
# one enum of precisions: the trainer, export and QLoRA compute dtypes
from ..precision import MatmulPrecision, Precision

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
    trust_remote_code: bool = False  # run the model folder's own Python code (only when you ask, on the command line)
    attn_implementation: Optional[str] = None  # sdpa | eager | flash_attention_2 (None: sdpa where the model has it)


@dataclass
class TemplateConfig:
    name: TemplateName = TemplateName.alpaca
    add_missing_tokens: bool = True  # add the template's control tokens the tokenizer lacks (else refuse)


# The schema Hydra composes ``method`` with: every method's fields (each method module declares its own
# structured config); compose() then narrows it to the chosen method's Config (see narrow_method).
MethodConfig = make_dataclass(
    "MethodConfig", [(n, MethodName if n == "name" else t, f) for n, t, f in all_method_fields()]
)


@dataclass
class TrainerConfig:
    output_dir: Optional[str] = None  # default: outputs/<run_name>-<timestamp>
    learning_rate: float = 2e-4
    per_device_train_batch_size: int = 4  # examples per micro-batch per device
    per_device_eval_batch_size: int = 4
    gradient_accumulation_steps: int = 1  # micro-batches per optimiser step
    num_train_epochs: float = 3.0
    max_steps: int = -1  # > 0: stop after this many optimiser steps (overrides epochs)
    warmup_ratio: float = 0.0  # fraction of the steps spent warming up the learning rate
    warmup_steps: int = 0  # warm-up steps (wins over warmup_ratio when > 0)
    lr_scheduler_type: str = "cosine"  # cosine | linear | constant | constant_with_warmup ...
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0  # gradient clipping (0: off)
    optim: str = "adamw_torch"  # adamw_torch | adamw_8bit | paged_adamw_8bit | paged_adamw_32bit ...
    logging_steps: int = 10  # a metrics.jsonl row every N steps
    save_steps: int = 500  # a checkpoint-N folder every N steps
    save_total_limit: Optional[int] = 3  # checkpoints kept (oldest deleted)
    eval_steps: Optional[int] = None  # with data.val_size: evaluate every N steps (default: each epoch)
    seed: int = 42
    precision: Precision = Precision.auto  # auto: bf16 on GPUs that have it, else fp16 on GPU, fp32 on CPU
    matmul_precision: MatmulPrecision = MatmulPrecision.auto  # fp32 matmuls: highest | high (TF32) | medium (bf16)
    gradient_checkpointing: Any = "auto"  # true | false | auto: on only when the run would not fit without it
    memory_limit_gb: Optional[float] = None  # the memory a run may use (default: what is available); a limit
    use_liger_kernel: bool = False  # Liger's Triton kernels (GPU; tune's own chunked loss stays the loss)
    torch_compile: bool = False  # torch.compile the model (TrainingArguments.torch_compile)
    peak_tflops: Optional[float] = None  # the accelerator's peak for MFU (default: GPU table / measured CPU)
    loss_chunk_tokens: int = 0  # labelled positions per chunk of fp32 logits (0: ~256 MiB of logits)
    resume: str = "false"  # auto | RUN_FOLDER | CHECKPOINT_FOLDER | false
    trust_checkpoint_pickles: bool = False  # allow a DeepSpeed resume (its engine unpickles checkpoint files)
    report_to: List[str] = field(default_factory=lambda: ["tensorboard"])  # tensorboard | wandb | [] ...
    dataloader_num_workers: int = 0
    threads: Optional[int] = None


@dataclass
class DeepSpeedConfig:
    name: str = "none"
    config: Any = None  # the DeepSpeed JSON as a mapping; "auto" fields from trainer


@dataclass
class PreviewConfig:
    limit: Optional[int] = None  # show the first N rows
    out: Optional[str] = None  # a file (default: stdout); never one of the inputs
    format: PreviewFormat = PreviewFormat.jsonl  # jsonl (the stable contract) | text (labelled spans marked)


@dataclass
class ExportTarget:
    checkpoint: Optional[str] = None  # a training output folder, its model/ folder or a checkpoint-N
    out: Optional[str] = None  # the export's folder (replaced only if tune wrote it)


# The export config: what to export and where, then each export format's own fields (exports/<format>.py).
ExportConfig = make_dataclass(
    "ExportConfig", [], bases=(*reversed([f.Options for f in formats().values()]), ExportTarget)
)


@dataclass
class ChatConfig:
    checkpoint: Optional[str] = None  # a training output folder, its model/ folder or a checkpoint-N
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0: greedy


@dataclass
class GenerateConfig(ChatConfig):
    input: Optional[str] = None  # JSONL rows with prompt, messages, conversations or instruction
    out: Optional[str] = None  # JSONL with the replies
    on_error: OnError = OnError["raise"]  # raise: stop at the first bad row; skip: answer the good ones, count the rest


@dataclass
class EvalConfig(ChatConfig):
    out: Optional[str] = None  # folder for predictions.jsonl + eval_metrics.json (default CHECKPOINT/eval)
    limit: Optional[int] = None  # generate for the first N examples only
    batch_size: int = 8  # examples per forward pass


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


def group_options(group: str) -> list[str]:
    """The options of a config group: its YAML files, and for ``method`` every registered method (a method
    module needs no YAML: its Config is stored with Hydra when it has none)."""
    folder = os.path.join(config_dir(), group)
    found = {f[: -len(".yaml")] for f in os.listdir(folder) if f.endswith(".yaml")} if os.path.isdir(folder) else set()
    if group == "method":
        found |= set(methods())
    return sorted(found)
