"""`tune COMMAND --help` and `--print-config`: the fields a command reads, with their values after the recipe and
overrides given, and the one-line docs written beside them in the structured configs; nothing heavy loads.

The docs are the ``# ...`` comments on each dataclass field (config/schema.py, data/config.py, each method's
Config, each export format's Options): read from the source, so the help cannot drift from the schema it
describes. Which sections a command reads is the command registry's (cli/commands.py).
"""
from __future__ import annotations

import dataclasses
import inspect
import re

from typing import get_type_hints

from . import schema as c

_FIELD_LINE = re.compile(r"^\s+(\w+)\s*:[^#]*#\s*(.+)$")


def field_docs(cls) -> dict[str, str]:
    """name -> the comment written beside the field, for a dataclass and its bases."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        for line in source.splitlines():
            m = _FIELD_LINE.match(line)
            if m:
                docs[m.group(1)] = m.group(2).strip()
    return docs


def _schema(section: str, cfg):
    """The dataclass of a top-level section (the chosen method's own Config for ``method``)."""
    if section == "method":
        from ..methods import get_method
        return get_method(cfg.method.name).Config
    return get_type_hints(c.TuneConfig).get(section)


def _nested_schema(schema, key: str):
    """The dataclass of field ``key`` of ``schema``, if it is one."""
    if schema is None:
        return None
    t = get_type_hints(schema).get(key)
    return t if dataclasses.is_dataclass(t) else None


def _shown(value) -> str:
    import enum
    import json

    from omegaconf import OmegaConf

    if OmegaConf.is_config(value):
        return json.dumps(OmegaConf.to_container(value, resolve=True), ensure_ascii=False)
    if isinstance(value, enum.Enum):  # a choice field
        return str(value.value)
    return repr(value) if isinstance(value, str) else str(value)


def _rows(prefix: str, node, schema) -> list[tuple[str, str, str]]:
    from omegaconf import DictConfig

    docs = field_docs(schema) if schema is not None else {}
    rows = []
    for key in node:
        value = node[key]
        if isinstance(value, DictConfig) and _nested_schema(schema, key) is not None:
            rows += _rows(f"{prefix}.{key}", value, _nested_schema(schema, key))
        else:
            rows.append((f"{prefix}.{key}", _shown(value), docs.get(key, "")))
    return rows


def command_help(command: str, sections: tuple[str, ...], cfg) -> str:
    """The fields ``command`` reads (``sections``: whole sections, or one field as ``section.field``): name = value
    (after recipe and overrides), and the field's doc."""
    rows = []
    for section in sections:
        head, _, leaf = section.partition(".")
        node = cfg[head]
        if leaf:
            schema = _schema(head, cfg)
            doc = field_docs(schema).get(leaf, "") if schema is not None else ""
            rows.append((section, _shown(node[leaf]), doc))
        else:
            rows += _rows(head, node, _schema(head, cfg))
    width = min(max((len(f"  {n} = {v}") for n, v, _ in rows), default=0), 64)
    lines = [(f"  {n} = {v}".ljust(width) + f"  # {d}" if d else f"  {n} = {v}") for n, v, d in rows]
    groups = ", ".join(f"{g}={'|'.join(c.group_options(g))}" for g in c.GROUPS if c.group_options(g))
    return "\n".join(
        [
            f"usage: tune {command} [recipe=NAME] [group=option] [key=value ...] [--print-config]",
            "",
            "groups: " + groups,
            "",
            f"fields of `tune {command}` (values after the recipe and overrides given):",
            *lines,
        ]
    )


def print_config(cfg) -> str:
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(cfg, resolve=True)
