"""Precisions, in one place: the names tune accepts (trainer.precision, export.dtype, QLoRA's compute dtype), their
torch dtypes, and how `auto` resolves on the machine at hand."""
from __future__ import annotations

from .choices import choices
from .errors import ConfigError

PRECISION_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}  # the one table of them
Precision = choices("Precision", ["auto", *PRECISION_DTYPES], __name__)


def torch_dtype(precision: str):
    """bf16 / fp16 / fp32 -> the torch dtype."""
    import torch

    return getattr(torch, PRECISION_DTYPES[precision])


def precision_name(dtype) -> str | None:
    """A torch dtype, or its name as config.json writes it ("bfloat16", "torch.float16"), -> bf16 / fp16 / fp32."""
    name = str(dtype).replace("torch.", "")
    return next((p for p, d in PRECISION_DTYPES.items() if d == name), None)


def resolve_precision(name: str) -> str:
    """auto: bf16 on GPUs that support it, else fp16 on GPU, fp32 on CPU; an unsupported choice is one line."""
    import torch

    cuda = torch.cuda.is_available()
    if name == "auto":
        if cuda:
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if name not in PRECISION_DTYPES:
        raise ConfigError(f"trainer.precision: {name!r} is not one of auto, {', '.join(PRECISION_DTYPES)}")
    if name == "bf16" and cuda and not torch.cuda.is_bf16_supported():
        raise ConfigError("trainer.precision=bf16: this GPU does not support bfloat16; use trainer.precision=fp16")
    if name == "fp16" and not cuda:
        raise ConfigError("trainer.precision=fp16: fp16 mixed precision needs a GPU; use bf16 or fp32 on CPU")
    return name


# fp32 matmuls' internal math, torch.set_float32_matmul_precision's names: highest (fp32), high (TF32 on GPUs that
# have it), medium (bf16 on CPUs with AVX512-BF16 or AMX, through oneDNN). Not a dtype: weights, checkpoints and
# exports stay fp32, so it has no place in PRECISION_DTYPES, tune.json or serving.
MatmulPrecision = choices("MatmulPrecision", ["auto", "highest", "high", "medium"], __name__)


def cpu_bf16_units() -> str | None:
    """"AMX" or "AVX512-BF16" where this CPU has bf16 matmul instructions that oneDNN uses, else None."""
    import torch

    cpu = getattr(torch, "cpu", None)
    if getattr(cpu, "_is_amx_tile_supported", lambda: False)():
        return "AMX"
    if getattr(cpu, "_is_avx512_bf16_supported", lambda: False)():
        return "AVX512-BF16"
    return None


# The narrowest model bf16 math pays on: torch's CPU attention kernel (SDPA, flash) runs its many small blocks
# through oneDNN under it, each paying oneDNN's setup, which the wider matmuls around it must earn back. The
# README's demo (2 layers, 110 short examples; benchmarks/demo_learning.py) ran about 1.4x slower with bf16 math at
# hidden 128 and 1.10x slower at 256, 1.12x faster at 384, 1.36x at 512; SmolLM2 (576): its facts recipe 1.40x faster.
BF16_MATH_MIN_HIDDEN = 384


def resolve_matmul_precision(name: str, precision: str, hidden: int | None = None) -> str:
    """auto: medium (fp32 weights, bf16 math inside matmuls) for fp32 training on a CPU with bf16 units, where it
    paid on SmolLM2 (benchmarks/cpu_precision.py: LoRA 1.42x, full 1.64x, every logged loss over 50 steps equal to
    fp32's to 4 digits; bf16 autocast was 1.56x/1.74x but its losses moved 2.1%/5.4%), for a model at least
    BF16_MATH_MIN_HIDDEN wide (``hidden``; None: not known, taken as wide); else highest (GPUs keep torch's
    default: TF32 is the user's choice, trainer.matmul_precision=high). Only fp32 matmuls read it."""
    import torch

    if name != "auto":
        return name
    wide = hidden is None or hidden >= BF16_MATH_MIN_HIDDEN
    if precision == "fp32" and wide and not torch.cuda.is_available() and cpu_bf16_units():
        return "medium"
    return "highest"


class matmul_precision:
    """Sets torch's process-wide fp32 matmul precision for a training run and restores the previous one after it
    (the notebook API trains in the user's process)."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        import torch

        self.previous = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision(self.name)
        return self

    def __exit__(self, *exc):
        import torch

        torch.set_float32_matmul_precision(self.previous)
