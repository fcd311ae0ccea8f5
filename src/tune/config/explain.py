"""Hydra's and OmegaConf's errors as one line naming the key and what would be valid, with a close match."""
from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from typing import Any, get_type_hints

from ..errors import ConfigError
from .schema import TuneConfig, group_options


def valid_keys(path: str) -> list[str]:
    """The field names of the dataclass that holds ``path``'s last part ([] when not a schema node)."""
    node: Any = TuneConfig
    for part in path.split(".")[:-1]:
        hint = get_type_hints(node).get(part) if is_dataclass(node) else None
        if hint is None:
            return []
        node = hint
    return [f.name for f in fields(node)] if is_dataclass(node) else []


def _edits(a: str, b: str) -> int:
    """Edit distance counting a swap of two neighbours as one edit (optimal string alignment): 'chatlm' is one
    edit from 'chatml', which difflib's ratio ranks below 'chatglm3'."""
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def did_you_mean(word: str, choices: list[str]) -> str:
    import difflib

    if not choices:
        return ""
    edits, _, nearest = min((_edits(word.lower(), c.lower()), -difflib.SequenceMatcher(None, word, c).ratio(), c)
                            for c in choices)
    if edits <= max(1, len(word) // 3):
        return f"did you mean {nearest}? "
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]}? " if close else ""


def explain(err: Exception, overrides: list[str]) -> ConfigError:
    """Hydra/OmegaConf errors are long; say the key and the valid choices in one line (with a close match)."""
    msg = f"{err}\n{err.__cause__ or ''}"
    m = re.search(r"Could not find '(\w+)/([^']*)'", msg) or re.search(
        r"In '[^']*': Could not find '(\w+)/([^']*)'", msg
    )
    if m:
        group, name = m.group(1), m.group(2)
        options = group_options(group)
        return ConfigError(
            f"{group}={name}: unknown {group} ({did_you_mean(name, options)}valid: {', '.join(options)})"
        )
    m = re.search(r"Key '(\w+)' (?:is not in struct|not in '\w+')", msg)
    full = re.search(r"full_key: ([\w.]+)", msg)
    if m:
        key = full.group(1) if full else m.group(1)
        valid = valid_keys(key)
        hint = did_you_mean(key.rsplit(".", 1)[-1], valid)
        return ConfigError(f"{key}: unknown key" + (f" ({hint}valid: {', '.join(valid)})" if valid else ""))
    m = re.search(r"Invalid value '([^']*)', expected one of \[([^\]]*)\]", msg)
    if m:
        key = full.group(1) if full else "?"
        hint = did_you_mean(m.group(1), [c.strip() for c in m.group(2).split(",")]).strip()
        return ConfigError(f"{key}: {m.group(1)!r} is not one of {m.group(2)}" + (f" ({hint})" if hint else ""))
    m = re.search(r"Value '([^']*)' (?:of type '\w+' )?could not be converted to (\w+)", msg)
    if m:
        key = full.group(1) if full else "?"
        return ConfigError(f"{key}: {m.group(1)!r} is not a valid {m.group(2)}")
    first = msg.strip().splitlines()[0] if msg.strip() else type(err).__name__
    return ConfigError(f"config: {first}")
