"""Export formats of `tune export`: one module each, holding an ``ExportFormat`` (exports/base.py) as
``FORMAT``. A new format is one module here (and its package extra); the registry finds every module with a
``FORMAT``, on first use, and the export config gains the format's fields (config/schema.py)."""
from __future__ import annotations

import importlib
import pkgutil

from .base import ExportFormat

_registry: dict[str, ExportFormat] | None = None


def formats() -> dict[str, ExportFormat]:
    """name -> ExportFormat, in the order they are written: the safetensors folder last, because it casts the
    merged fp32 model to its dtype in place (the others read the fp32 merge)."""
    global _registry
    if _registry is None:
        found = {}
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: (i.name == "safetensors", i.name)):
            fmt = getattr(importlib.import_module(f"{__name__}.{info.name}"), "FORMAT", None)
            if isinstance(fmt, ExportFormat):
                found[fmt.name] = fmt
        _registry = found
    return _registry
