"""BELLE: alpaca-like records; the multi-turn sets pack earlier turns into the text as
"Human: ...\nAssistant: ..." and leave the last answer in ``output``. Split that text into real turns."""
from __future__ import annotations

import re

from ..conversation import Conversation, Message, normalise
from . import alpaca
from ._fields import text_field

# A speaker tag at the start of the text or of a line; BELLE writes "Human:" / "Assistant:" (ASCII or full-width colon).
_TAG = re.compile(r"(?:^|\n)[ \t]*(Human|Assistant)[ \t]*[:：]", re.IGNORECASE)

FIELDS = {"instruction", "input", "output", "system", "history"}

def split_turns(text: str) -> list[Message]:
    """'Human: a\\nAssistant: b\\nHuman: c\\nAssistant:' -> [user a, assistant b, user c]; text without tags ->
    [user text]."""
    tags = list(_TAG.finditer(text))
    if not tags or tags[0].group(1).lower() != "human":
        return [Message("user", text)]
    out = []
    for tag, nxt in zip(tags, tags[1:] + [None]):
        body = text[tag.end() : nxt.start() if nxt else len(text)].strip()
        out.append(Message("user" if tag.group(1).lower() == "human" else "assistant", body))
    return out


def to_conversation(record: dict) -> Conversation:
    instruction, input_, output = alpaca.read_fields(record)
    messages = split_turns(alpaca.user_text(instruction, input_))
    messages.append(Message("assistant", output.strip() if len(messages) > 1 else output))
    return normalise(messages, system=text_field(record, "system", required=False))


def detect(record: dict) -> bool:
    return alpaca.detect(record) and bool(_TAG.search(str(record.get("instruction", ""))[:200]))
