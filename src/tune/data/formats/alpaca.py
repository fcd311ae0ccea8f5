"""Alpaca: instruction / input / output, optional system and history ([[user, assistant], ...]).

Also Huatuo (the same records as JSONL) and BELLE's single-turn files.
"""
from __future__ import annotations

from ..conversation import Conversation, InvalidConversation, Message, normalise
from ._fields import text_field

FIELDS = {"instruction", "input", "output", "system", "history"}  # what to_conversation reads

KEYS = {"instruction", "output"}


def user_text(instruction: str, input_: str) -> str:
    """Instruction and (non-empty) input joined as one user turn; an empty input is ignored."""
    return f"{instruction}\n\n{input_}" if input_.strip() else instruction


def history_messages(record: dict) -> list[Message]:
    history = record.get("history") or []
    if not isinstance(history, list):
        raise InvalidConversation("history", "expected a list of [user, assistant] pairs")
    out = []
    for i, pair in enumerate(history):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise InvalidConversation(f"history[{i}]", "expected a [user, assistant] pair of texts")
        out += [Message("user", pair[0]), Message("assistant", pair[1])]
    return out


def read_fields(record: dict) -> tuple[str, str, str]:
    """(instruction, input, output), checked: output non-empty, instruction or input non-empty."""
    instruction = text_field(record, "instruction")
    input_ = text_field(record, "input", required=False)
    output = text_field(record, "output")
    if not output.strip():
        raise InvalidConversation("output", "empty")
    if not (instruction.strip() or input_.strip()):
        raise InvalidConversation("instruction", "empty (and no input)")
    return instruction, input_, output


def to_conversation(record: dict) -> Conversation:
    instruction, input_, output = read_fields(record)
    messages = history_messages(record)
    messages += [Message("user", user_text(instruction, input_)), Message("assistant", output)]
    return normalise(messages, system=text_field(record, "system", required=False))


def detect(record: dict) -> bool:
    return KEYS <= record.keys()
