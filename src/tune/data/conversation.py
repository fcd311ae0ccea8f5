"""The one conversation schema every dataset format becomes, and the rules that normalise it.

Rules (also in README.md, pinned by tests/unit/test_conversation.py):
- roles are aliased to system / user / assistant / tool (see ROLE_ALIASES);
- system turns are kept: all of them, in order, joined into the conversation's system prompt;
- messages whose content is empty or whitespace are ignored;
- consecutive turns of the same role are merged (joined with a newline);
- a trailing user (or tool) turn is dropped: nothing answers it;
- a conversation with no assistant content left is invalid;
- tool definitions given as JSON are kept in one spelling (``json.dumps(..., ensure_ascii=False)``), the one a
  chat template's ``tools | tojson`` writes, so training and serving render them alike.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .json_depth import TOO_DEEP, without_cyclic_gc

ROLE_ALIASES = {
    "system": "system",
    "user": "user", "human": "user", "prompter": "user", "question": "user",
    "assistant": "assistant", "gpt": "assistant", "bot": "assistant", "model": "assistant",
    "chatgpt": "assistant", "bard": "assistant", "bing": "assistant", "answer": "assistant",
    "function_call": "assistant",
    "tool": "tool", "observation": "tool", "function": "tool", "ipython": "tool",
}
ROLES = ("system", "user", "assistant", "tool")


class InvalidConversation(ValueError):
    """A record that cannot become a conversation; ``field`` names the offending field."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass
class Message:
    role: str
    content: str
    train: bool = True  # only meaningful for assistant turns: False keeps it out of the loss

    def to_dict(self) -> dict:
        return {"role": self.role, "content": self.content, "train": self.train}


@dataclass
class Conversation:
    messages: list[Message] = field(default_factory=list)
    system: str = ""
    tools: str = ""

    def to_dicts(self) -> list[dict]:
        head = [{"role": "system", "content": self.system, "train": False}] if self.system else []
        return head + [m.to_dict() for m in self.messages]

    @classmethod
    def from_dicts(cls, rows: list[dict], tools: str = "") -> "Conversation":
        """Inverse of :meth:`to_dicts` (no normalisation)."""
        conv = cls(tools=tools)
        for r in rows:
            if r["role"] == "system":
                conv.system = r["content"]
            else:
                conv.messages.append(Message(r["role"], r["content"], r.get("train") is not False))
        return conv


def check_text(conv: Conversation) -> Conversation:
    """Every text of a conversation must be valid Unicode: JSON can spell a lone UTF-16 surrogate ("\\ud800"),
    which Python keeps in a str but no UTF-8 writer (Arrow, the tokenizer, an output file) accepts."""
    texts = [("system", conv.system), ("tools", conv.tools)]
    texts += [(f"messages[{i}].content", m.content) for i, m in enumerate(conv.messages)]
    for name, text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:
            raise InvalidConversation(name, f"not valid Unicode text (a lone UTF-16 surrogate "
                                            f"{text[err.start]!r} at character {err.start})") from None
    return conv


def canonical_role(raw, field_name: str = "role") -> str:
    role = ROLE_ALIASES.get(str(raw).strip().lower()) if raw is not None else None
    if role is None:
        raise InvalidConversation(field_name, f"unknown role {raw!r} (known: {', '.join(sorted(ROLE_ALIASES))})")
    return role


def normalise(messages: list[Message], system: str = "", tools: str = "",
              require_assistant: bool = True) -> Conversation:
    """Apply the normalisation rules above; raise InvalidConversation when nothing trainable is left."""
    systems = [system] if system and system.strip() else []
    turns: list[Message] = []
    for m in messages:
        if m.content is None or not str(m.content).strip():
            continue
        if m.role == "system":
            systems.append(m.content)
            continue
        if turns and turns[-1].role == m.role:
            prev = turns[-1]
            turns[-1] = Message(m.role, prev.content + "\n" + m.content, prev.train or m.train)
        else:
            turns.append(Message(m.role, m.content, m.train))
    while turns and turns[-1].role in ("user", "tool"):
        turns.pop()
    if require_assistant and not any(t.role == "assistant" for t in turns):
        raise InvalidConversation("messages", "no assistant content")
    return Conversation(turns, "\n".join(systems), canonical_tools(tools))


def canonical_tools(tools) -> str:
    """Tool definitions as one JSON spelling; text that is not JSON stays as it is."""
    if not tools:
        return ""
    if isinstance(tools, str):
        try:
            tools = without_cyclic_gc(json.loads, tools)
        except ValueError:
            return tools
        except RecursionError:
            raise InvalidConversation("tools", TOO_DEEP) from None
    return json_text(tools, "tools") if tools else ""  # "[]": no tools


def json_text(value, field_name: str) -> str:
    """``value`` in the one JSON spelling kept for tools and tool calls; a value nested too deeply to write is the
    record's fault, named by its field."""
    try:
        return without_cyclic_gc(json.dumps, value, ensure_ascii=False)
    except RecursionError:
        raise InvalidConversation(field_name, "JSON nested too deeply to write (over Python's recursion limit)") \
            from None
