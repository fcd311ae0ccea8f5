"""Firefly: single-turn {kind, input, target}; multi-turn {conversation: [{human, assistant}, ...]}."""
from __future__ import annotations

from ..conversation import Conversation, InvalidConversation, Message, normalise
from ._fields import list_field, text_field

FIELDS = {"kind", "input", "target", "conversation", "system"}

def to_conversation(record: dict) -> Conversation:
    if "conversation" in record:
        messages = []
        for i, pair in enumerate(list_field(record, "conversation")):
            if not isinstance(pair, dict):
                raise InvalidConversation(f"conversation[{i}]", "expected an object with human/assistant")
            messages.append(Message("user", text_field(pair, "human", required=False)))
            messages.append(Message("assistant", text_field(pair, "assistant", required=False)))
        return normalise(messages, system=text_field(record, "system", required=False))
    input_, target = text_field(record, "input"), text_field(record, "target")
    if not target.strip():
        raise InvalidConversation("target", "empty")
    return normalise([Message("user", input_), Message("assistant", target)])


def detect(record: dict) -> bool:
    conv = record.get("conversation")
    return ({"input", "target"} <= record.keys()) or (
        isinstance(conv, list) and bool(conv) and isinstance(conv[0], dict) and "human" in conv[0])
