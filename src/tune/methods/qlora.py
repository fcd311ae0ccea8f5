"""QLoRA: a 4-bit (nf4/fp4, double-quantised) base from bitsandbytes, k-bit preparation, LoRA on top."""
from __future__ import annotations

import torch

from ..errors import ConfigError
from . import lora

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def load_kwargs(method_cfg, compute_dtype: torch.dtype, bits: int = 4) -> dict:
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ConfigError(f"method={method_cfg.name} with a {bits}-bit base needs bitsandbytes: pip install bitsandbytes") from None
    from transformers import BitsAndBytesConfig

    if bits == 8:
        return {"quantization_config": BitsAndBytesConfig(load_in_8bit=True)}
    dtype = compute_dtype if method_cfg.compute_dtype == "auto" else DTYPES[method_cfg.compute_dtype]
    return {"quantization_config": BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type=method_cfg.quant_type,
        bnb_4bit_use_double_quant=method_cfg.double_quant, bnb_4bit_compute_dtype=dtype)}


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
