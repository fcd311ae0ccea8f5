"""databricks-dolly-15k: instruction / context / response / category; the context, when present,
is folded into the user turn after the instruction."""
from __future__ import annotations

from ..conversation import Conversation, InvalidConversation, Message, normalise
from .alpaca import user_text
from ._fields import text_field

FIELDS = {"instruction", "context", "response", "category"}

def to_conversation(record: dict) -> Conversation:
    instruction = text_field(record, "instruction")
    context = text_field(record, "context", required=False)
    response = text_field(record, "response")
    if not response.strip():
        raise InvalidConversation("response", "empty")
    if not instruction.strip():
        raise InvalidConversation("instruction", "empty")
    return normalise([Message("user", user_text(instruction, context)), Message("assistant", response)])


def detect(record: dict) -> bool:
    return {"instruction", "response"} <= record.keys()
