"""QLoRA: a 4-bit (nf4/fp4, double-quantised) base from bitsandbytes, k-bit preparation, LoRA on top."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

from ..choices import choices
from ..errors import ConfigError
from ..models.load import torch_dtype
from . import lora

ADAPTER = True
KEEP_FP32_MASTER = False
MERGE_REFUSAL = ""
CHECKPOINTING = True        # activation checkpointing works with it
QuantType = choices("QuantType", ["nf4", "fp4"], __name__)
ComputeDtype = choices("ComputeDtype", ["auto", "bf16", "fp16", "fp32"], __name__)


@dataclass
class Config(lora.Config):
    name: str = "qlora"
    target_modules: List[str] = field(default_factory=lambda: ["all-linear"])
    quant_type: QuantType = QuantType.nf4
    double_quant: bool = True
    compute_dtype: ComputeDtype = ComputeDtype.auto  # auto: the training precision


def check(cfg, new_token_ids=()) -> None:
    if cfg.deepspeed.name != "none":
        raise ConfigError("method=qlora with deepspeed: 4-bit bitsandbytes weights cannot be sharded by ZeRO "
                          "here; use deepspeed=none (QLoRA fits one GPU) or method=lora")


def load_kwargs(method_cfg, compute_dtype) -> dict:
    dtype = compute_dtype if method_cfg.compute_dtype == "auto" else torch_dtype(method_cfg.compute_dtype)
    return quantized_base(method_cfg.name, 4, dtype, method_cfg.quant_type, method_cfg.double_quant)


def quantized_base(method: str, bits: int, compute_dtype, quant_type: str = "nf4", double_quant: bool = True) -> dict:
    """from_pretrained kwargs for a bitsandbytes 4- or 8-bit base."""
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ConfigError(f"method={method} with a {bits}-bit base needs bitsandbytes: pip install bitsandbytes") from None
    from transformers import BitsAndBytesConfig

    if bits == 8:
        return {"quantization_config": BitsAndBytesConfig(load_in_8bit=True)}
    return {"quantization_config": BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type=quant_type, bnb_4bit_use_double_quant=double_quant,
        bnb_4bit_compute_dtype=compute_dtype)}


def disable_cpu_bf16_repack(model) -> int:
    """bitsandbytes 0.50 on CPUs with AVX512-BF16 repacks 4-bit weights after a no-grad eval forward, and from
    then on LoRA gradients below the last layer are zero (or the forward asserts on odd widths). Turning the
    AVX512-BF16 path off per module avoids it (see FIELD_NOTES.md; guarded by a test). Returns modules patched."""
    import bitsandbytes as bnb

    n = 0
    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit) and hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False
            n += 1
    return n


def apply(model, method_cfg, train_cfg, new_token_ids=()):
    from peft import prepare_model_for_kbit_training

    disable_cpu_bf16_repack(model)
    model = prepare_model_for_kbit_training(
        model, use_gradient_checkpointing=train_cfg.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False})
    return lora.attach(model, method_cfg, new_token_ids)
