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


def resolve_matmul_precision(name: str, precision: str) -> str:
    """auto: torch's own default (highest); an explicit choice as given. Only fp32 matmuls read it: under bf16/fp16
    autocast it changes nothing."""
    return "highest" if name == "auto" else name


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
