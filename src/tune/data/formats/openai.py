"""OpenAI chat fine-tuning JSONL: {"messages": [{"role", "content"}]}; ``content`` may be a list of
text parts ({"type": "text", "text"|"value": ...}); a per-message ``weight``/``loss_weight`` of 0 keeps
that assistant turn out of the loss."""
from __future__ import annotations

from ..conversation import Conversation, InvalidConversation, Message, canonical_role, json_text, normalise
from ._fields import list_field

FIELDS = {"messages", "tools"}

def _content(value, where: str) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, list):
        parts = []
        for j, part in enumerate(value):
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and part.get("type", "text") == "text":
                text = part.get("text", part.get("value"))
                if not isinstance(text, str):
                    raise InvalidConversation(f"{where}.content[{j}]", "text part without text")
                parts.append(text)
            else:
                raise InvalidConversation(
                    f"{where}.content[{j}]",
                    f"unsupported part type "
                    f"{part.get('type') if isinstance(part, dict) else type(part).__name__!r} (text only)",
                )
        return "".join(parts)
    raise InvalidConversation(f"{where}.content", f"expected text or a list of parts, got {type(value).__name__}")


def to_conversation(record: dict) -> Conversation:
    messages = []
    for i, msg in enumerate(list_field(record, "messages")):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise InvalidConversation(where, "expected an object with role/content")
        role = canonical_role(msg.get("role"), f"{where}.role")
        content = _content(msg.get("content"), where)
        if role == "assistant" and not content and msg.get("tool_calls"):
            content = json_text(msg["tool_calls"], f"{where}.tool_calls")
        weight = msg.get("weight", msg.get("loss_weight", 1))
        messages.append(Message(role, content, train=bool(weight)))
    tools = record.get("tools") or ""
    return normalise(messages, tools=tools)


def detect(record: dict) -> bool:
    msgs = record.get("messages")
    return isinstance(msgs, list) and bool(msgs) and isinstance(msgs[0], dict) and "role" in msgs[0]
