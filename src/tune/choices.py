"""Choice fields of the configs: typed as Enums so OmegaConf refuses a value outside the choices at compose time,
with the valid ones named (OmegaConf 2.3 rejects ``Literal``). Members are ``str`` and print as their value, so
code compares, formats and looks them up like the plain strings they replace."""
from __future__ import annotations

from enum import Enum
from typing import Any


class Choice(str, Enum):
    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


def choices(name: str, values, module: str) -> Any:
    # typed Any: members are made from registries at run time, which no type checker can follow; the fields
    # that use one are typed by it at run time (OmegaConf) and read as the plain strings they are
    """An Enum whose members are named by their values (names like "raise" or "vicuna_v1.1" included), defined
    as ``module.name`` so that it pickles."""
    return Choice(name, [(v, v) for v in dict.fromkeys(values)], module=module, qualname=name)
