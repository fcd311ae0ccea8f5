"""Fine-tuning methods: each module has ``apply(model, method_cfg, train_cfg) -> model``; a method that
changes how the base model is loaded also has ``load_kwargs(method_cfg, compute_dtype)``.

A new method is one module here, one line in METHODS and one YAML in configs/method/.
"""
from __future__ import annotations

from types import ModuleType

from ..errors import ConfigError
from . import freeze, full, lora, ptuning, qlora

METHODS: dict[str, ModuleType] = {"full": full, "freeze": freeze, "lora": lora, "qlora": qlora, "ptuning_v2": ptuning}
ADAPTER_METHODS = ("lora", "qlora", "ptuning_v2")  # saved as a peft adapter on top of an unchanged base


def get_method(name: str) -> ModuleType:
    if name not in METHODS:
        raise ConfigError(f"method.name: unknown method {name!r} (valid: {', '.join(METHODS)})")
    return METHODS[name]


def count_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameter counts; 4-bit packed weights count as their logical size."""
    trainable = total = 0
    for p in model.parameters():
        n = getattr(p, "ds_numel", None) or p.numel()  # ZeRO-3 partitions parameters: ds_numel is the full size
        if hasattr(p, "quant_state") and p.quant_state is not None:  # bnb Params4bit stores 2 values per byte
            n *= 2
        total += n
        if p.requires_grad:
            trainable += n
    return trainable, total
