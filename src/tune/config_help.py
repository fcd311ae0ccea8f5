"""`tune COMMAND --help` and `--print-config`: the fields a command reads, with their values after the recipe and
overrides given, and the one-line docs written beside them in the structured configs; nothing heavy loads.

The docs are the ``# ...`` comments on each dataclass field (config.py, each method's Config): read from the
source once, so the help cannot drift from the schema it describes.
"""
from __future__ import annotations

import dataclasses
import inspect
import re

from . import config as c

# Which config sections each command reads (a command group, or a whole section).
COMMAND_SECTIONS = {
    "train": ["model", "data", "template", "method", "trainer", "deepspeed.name"],
    "preview": ["model", "data", "template", "preview"],
    "export": ["export", "model.trust_remote_code"],
    "chat": ["chat", "model.trust_remote_code"],
    "generate": ["generate", "model.trust_remote_code"],
    "eval": ["eval", "data", "model.trust_remote_code"],
}
SECTION_SCHEMAS = {"model": c.ModelConfig, "data": c.DataConfig, "template": c.TemplateConfig,
                   "trainer": c.TrainerConfig, "deepspeed": c.DeepSpeedConfig, "preview": c.PreviewConfig,
                   **c.COMMAND_GROUPS}
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
    if section == "method":
        from .methods import get_method
        return get_method(cfg.method.name).Config
    return SECTION_SCHEMAS.get(section)


def _nested_schema(schema, key: str):
    """The dataclass of field ``key`` of ``schema`` (annotations may be strings: resolved in config)."""
    if schema is None:
        return None
    for f in dataclasses.fields(schema):
        if f.name == key:
            t = getattr(c, f.type, None) if isinstance(f.type, str) else f.type
            return t if dataclasses.is_dataclass(t) else None
    return None


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


def command_help(command: str, cfg) -> str:
    """The fields ``command`` reads: name = value (after recipe and overrides), and the field's doc."""
    rows = []
    for section in COMMAND_SECTIONS[command]:
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
    return "\n".join([f"usage: tune {command} [recipe=NAME] [group=option] [key=value ...] [--print-config]",
                      "", "groups: " + groups, "", f"fields of `tune {command}` (values after the recipe and overrides given):",
                      *lines])


def describe(command: str, overrides: list[str], want_help: bool) -> int:
    """--help / --print-config for ``tune COMMAND`` and ``python -m tune.train``: compose only (the config is
    checked as a run would check it), load nothing."""
    cfg = c.compose_command_line(c.command_overrides(command, overrides))
    print(command_help(command, cfg) if want_help else print_config(cfg))
    return 0


def print_config(cfg) -> str:
    from omegaconf import OmegaConf
    return OmegaConf.to_yaml(cfg, resolve=True)


HELP_FLAGS = ("-h", "--help")
PRINT_FLAGS = ("--print-config",)


def split_flags(argv: list[str]) -> tuple[list[str], bool, bool]:
    """(overrides, help wanted, print-config wanted); Hydra's own `--cfg job` is a print-config too."""
    out, want_help, want_print, skip = [], False, False, False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if a in HELP_FLAGS:
            want_help = True
        elif a in PRINT_FLAGS:
            want_print = True
        elif a == "--cfg":
            want_print, skip = True, True
        elif a.startswith("--cfg="):
            want_print = True
        else:
            out.append(a)
    return out, want_help, want_print
