"""trainer.precision -> the dtype and TrainingArguments flags, with a clear error where unsupported."""
from __future__ import annotations

import torch

from ..errors import ConfigError
from ..models.load import torch_dtype


def resolve_precision(name: str) -> str:
    """auto: bf16 on GPUs that support it, else fp16 on GPU, fp32 on CPU."""
    cuda = torch.cuda.is_available()
    if name == "auto":
        if cuda:
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if name not in ("bf16", "fp16", "fp32"):
        raise ConfigError(f"trainer.precision: {name!r} is not one of auto, bf16, fp16, fp32")
    if name == "bf16" and cuda and not torch.cuda.is_bf16_supported():
        raise ConfigError("trainer.precision=bf16: this GPU does not support bfloat16; use trainer.precision=fp16")
    if name == "fp16" and not cuda:
        raise ConfigError("trainer.precision=fp16: fp16 mixed precision needs a GPU; use bf16 or fp32 on CPU")
    return name


def compute_dtype(precision: str) -> torch.dtype:
    return torch_dtype(precision)
