"""Fine-tuning methods: one module each, holding a ``Method`` (methods/base.py) as ``METHOD``: its structured
config, whether it saves a model or an adapter, how its base loads, its checks, and ``apply``. A new method is
one module here (and, optionally, a YAML in configs/method/ naming it); the registry finds every module with a
``METHOD``, on first use.
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing

from ..errors import ConfigError
from .base import Method

_registry: dict[str, Method] | None = None


def methods() -> dict[str, Method]:
    """name -> Method, discovered once in this package's folders (a test may add a folder to ``__path__``
    before the first call)."""
    global _registry
    if _registry is None:
        found = {}
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
            module = importlib.import_module(f"{__name__}.{info.name}")
            method = getattr(module, "METHOD", None)
            if isinstance(method, Method):
                found[method.name] = method
        _registry = found
    return _registry


def __getattr__(name: str):
    if name == "METHODS":  # the registry, built on first use
        return methods()
    raise AttributeError(name)


def get_method(name: str) -> Method:
    if name not in methods():
        raise ConfigError(f"method.name: unknown method {name!r} (valid: {', '.join(methods())})")
    return methods()[name]


def method_fields(name: str) -> list[str]:
    return [f.name for f in dataclasses.fields(get_method(name).Config)]


def all_method_fields() -> list[tuple[str, type, dataclasses.Field]]:
    """Every method's fields once (the first declaration wins), ``name`` first, with their resolved types: the
    loose schema Hydra composes with before config narrows it to the chosen method's own Config."""
    seen: dict[str, tuple] = {}
    for method in methods().values():
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
