"""Field access shared by the format adapters: one place that says what a missing or mistyped field is."""
from __future__ import annotations

from ..conversation import InvalidConversation


def text_field(record: dict, name: str, required: bool = True) -> str:
    """Return record[name] as text; '' when optional and absent; InvalidConversation when wrong."""
    value = record.get(name)
    if value is None:
        if required:
            raise InvalidConversation(name, "missing")
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise InvalidConversation(name, f"expected text, got {type(value).__name__}")
    return value


def list_field(record: dict, name: str) -> list:
    value = record.get(name)
    if value is None:
        raise InvalidConversation(name, "missing")
    if not isinstance(value, list):
        raise InvalidConversation(name, f"expected a list, got {type(value).__name__}")
    return value
