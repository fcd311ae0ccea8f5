"""A bitsandbytes-quantised frozen base (QLoRA's 4-bit, P-Tuning's 4- or 8-bit): how it loads, and the CPU
workaround it needs."""
from __future__ import annotations

from ..extras import BITSANDBYTES, require


def quantized_base(method: str, bits: int, compute_dtype, quant_type: str = "nf4", double_quant: bool = True) -> dict:
    """from_pretrained kwargs for a bitsandbytes 4- or 8-bit base."""
    require(BITSANDBYTES, f"method={method} with a {bits}-bit base")
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
