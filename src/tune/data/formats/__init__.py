"""Registry of dataset formats: name -> module with ``to_conversation(record)`` and ``detect(record)``.

A new format is one module here plus one line in FORMATS.
"""
from __future__ import annotations

from types import ModuleType

from ...errors import ConfigError
from . import alpaca, belle, dolly, firefly, openai, qa, sharegpt

FORMATS: dict[str, ModuleType] = {
    "alpaca": alpaca,
    "huatuo": alpaca,        # Huatuo ships alpaca records as JSONL
    "belle": belle,
    "sharegpt": sharegpt,
    "openai": openai,
    "messages": openai,
    "dolly": dolly,
    "firefly": firefly,
    "cmedqa2": qa,
    "adgen": qa,
    "qa": qa,
}
# Order matters for detection: the more specific shape first.
DETECT_ORDER = ("sharegpt", "openai", "firefly", "dolly", "belle", "alpaca", "qa")


def get_format(name: str) -> ModuleType:
    try:
        return FORMATS[name]
    except KeyError:
        raise ConfigError(f"data.format: unknown format {name!r} (valid: auto, {', '.join(sorted(FORMATS))})") from None


def detect_format(records: list[dict]) -> str | None:
    """The format most of the first records match, or None."""
    votes: dict[str, int] = {}
    for rec in records:
        if not isinstance(rec, dict):
            continue
        for name in DETECT_ORDER:
            if FORMATS[name].detect(rec):
                votes[name] = votes.get(name, 0) + 1
                break
    return max(votes, key=votes.get) if votes else None
