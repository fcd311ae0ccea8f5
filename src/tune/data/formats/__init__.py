"""Registry of dataset formats: name -> module with ``to_conversation(record)``, ``detect(record)`` and
``FIELDS`` (the record keys it reads).

A new format is one module here plus one line in FORMATS. Detection is honest: a format that would leave a
field of the records unread (GPTeacher's instruction/input/response looks like dolly, which has no ``input``)
is not chosen silently; the error names the field and how to map it (data.columns).
"""
from __future__ import annotations

import re
from collections import Counter
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


def detect_format(records: list) -> str | None:
    """The format most of the first records match, or None."""
    votes: dict[str, int] = {}
    for rec in records:
        if not isinstance(rec, dict):
            continue
        for name in DETECT_ORDER:
            if FORMATS[name].detect(rec):
                votes[name] = votes.get(name, 0) + 1
                break
    return max(votes, key=lambda name: votes[name]) if votes else None


# Keys that carry no conversation text: leaving them unread loses nothing.
METADATA = re.compile(r"^(id|idx|index|uid|\w+_id|ids|category|class|kind|department|source|lang|language|url|meta|"
                      r"metadata|tags?|license|dataset|split|type|date|time|created_at|score|quality|topics?|subjects?|domains?|"
                      r"task|task_type)$", re.IGNORECASE)


def unread_fields(name: str, records: list, ignore=()) -> Counter:
    """Keys with non-empty values that format ``name`` would not read (metadata and ``ignore`` aside), by number
    of records."""
    fields = getattr(FORMATS[name], "FIELDS", None)
    counts: Counter = Counter()
    if fields is None:
        return counts
    for rec in records:
        if isinstance(rec, dict):
            counts.update(k for k, v in rec.items() if k not in fields and k not in ignore and not METADATA.match(k)
                          and v not in (None, "", [], {}))
    return counts


def remap_columns(record, columns) -> object:
    """data.columns={instruction: prompt, output: response, ...}: the record with those keys renamed to the
    names the formats read (the original keys go, so nothing is read twice)."""
    if not columns or not isinstance(record, dict):
        return record
    out = {k: v for k, v in record.items() if k not in set(columns.values())}
    for canonical, key in columns.items():
        if key in record:
            out[canonical] = record[key]
    return out
