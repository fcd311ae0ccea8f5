"""Fine-tuning methods. Each module here declares what it is, behind one small interface:

- ``Config``: its structured config (a dataclass; ``name`` first; qlora's extends lora's);
- ``ADAPTER``: saved as a peft adapter on top of an unchanged base (else the whole model is saved);
- ``KEEP_FP32_MASTER``: the model loads in fp32 and mixed precision happens in autocast (full, freeze);
- ``MERGE_REFUSAL``: why ``tune export`` cannot merge it ('' when it can);
- ``CHECKPOINTING``: whether activation checkpointing works with it (trainer.gradient_checkpointing=auto may
  turn it on only where it does);
- ``check(cfg, new_token_ids)``: combinations known not to work, refused up front with one line;
- ``load_kwargs(method_cfg, compute_dtype)``: how the base loads (a quantised base for QLoRA), in training and
  when a saved run reloads;
- ``apply(model, method_cfg, train_cfg, new_token_ids)``: the trainable model.

A new method is one module here and one YAML in configs/method/: METHODS finds every module that has a
``Config`` and an ``apply``.
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing
from types import ModuleType

from ..errors import ConfigError


def _discover() -> dict[str, ModuleType]:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "Config") and hasattr(module, "apply"):
            found[module.Config.name] = module
    return found


METHODS: dict[str, ModuleType] = _discover()


def get_method(name: str) -> ModuleType:
    if name not in METHODS:
        raise ConfigError(f"method.name: unknown method {name!r} (valid: {', '.join(METHODS)})")
    return METHODS[name]


def method_fields(name: str) -> list[str]:
    return [f.name for f in dataclasses.fields(get_method(name).Config)]


def all_method_fields() -> list[tuple[str, type, dataclasses.Field]]:
    """Every method's fields once (the first declaration wins), ``name`` first, with their resolved types: the
    schema Hydra composes with."""
    seen: dict[str, tuple] = {}
    for method in METHODS.values():
        hints = typing.get_type_hints(method.Config)
        for f in dataclasses.fields(method.Config):
            seen.setdefault(f.name, (f.name, hints[f.name], f))
    return list(seen.values())


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
