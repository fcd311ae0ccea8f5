"""ShareGPT (Vicuna, LLaMA-Factory): ``conversations`` of {from, value}; roles human/gpt/system/
function_call/observation; optional top-level ``system`` and ``tools`` (a JSON string or list)."""
from __future__ import annotations


from ..conversation import Conversation, InvalidConversation, Message, canonical_role, normalise
from ._fields import list_field, text_field

FIELDS = {"conversations", "conversation", "items", "system", "tools"}

LIST_KEYS = ("conversations", "conversation", "items")


def _turns(record: dict) -> tuple[str, list]:
    for key in LIST_KEYS:
        if key in record:
            return key, list_field(record, key)
    raise InvalidConversation("conversations", "missing")


def to_conversation(record: dict) -> Conversation:
    key, turns = _turns(record)
    messages = []
    for i, turn in enumerate(turns):
        where = f"{key}[{i}]"
        if not isinstance(turn, dict):
            raise InvalidConversation(where, "expected an object with from/value")
        role = canonical_role(turn.get("from", turn.get("role")), f"{where}.from")
        value = turn.get("value", turn.get("content"))
        if value is not None and not isinstance(value, str):
            raise InvalidConversation(f"{where}.value", f"expected text, got {type(value).__name__}")
        messages.append(Message(role, value or ""))
    tools = record.get("tools") or ""
    return normalise(messages, system=text_field(record, "system", required=False), tools=tools)


def detect(record: dict) -> bool:
    for key in LIST_KEYS:
        turns = record.get(key)
        if isinstance(turns, list) and turns and isinstance(turns[0], dict) and "from" in turns[0]:
            return True
    return False
