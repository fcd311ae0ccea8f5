"""The ``tokenizer`` template: the model's own Jinja chat_template, cut into segments.

Jinja templates give one string, not segments, so the assistant spans are found by rendering
growing prefixes of the conversation and taking the differences (the template must be
prefix-stable, which chat templates in practice are; we check and say so when one is not).
Message contents are then found inside those pieces and marked literal, so control-token strings in
user data stay text here too.
"""
from __future__ import annotations

import json

from ..errors import ConfigError
from .conversation import Conversation
from .segments import Segment


class TokenizerTemplateRenderer:
    name = "tokenizer"

    def __init__(self, tokenizer):
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise ConfigError("template=tokenizer: this tokenizer has no chat_template; pick a named template "
                              "(e.g. template=chatml)")
        self.tokenizer = tokenizer
        probe = [{"role": "user", "content": "u"}, {"role": "assistant", "content": "PROBE"}]
        full = self._apply(probe, False)
        self._end_of_turn = full[full.rindex("PROBE") + len("PROBE"):]

    @property
    def end_of_turn(self) -> str:
        return self._end_of_turn

    @property
    def stop_strings(self) -> list[str]:
        return [s for s in [self._end_of_turn.strip(), self.tokenizer.eos_token] if s]

    @property
    def control_tokens(self) -> tuple[str, ...]:
        return ()  # the tokenizer's own template writes only tokens it has

    def fingerprint(self) -> str:
        # the Jinja source decides the text, with the special tokens it may name (bos_token, eos_token, ...)
        return json.dumps([type(self).__name__, self.tokenizer.chat_template,
                           sorted((k, str(v)) for k, v in self.tokenizer.special_tokens_map.items())])

    def _apply(self, messages: list[dict], add_generation_prompt: bool) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)

    def render(
        self, conv: Conversation, add_generation_prompt: bool = False, system: str | None = None
    ) -> list[Segment]:
        rows = conv.to_dicts()
        if system is not None:
            rows = [{"role": "system", "content": system}] + [r for r in rows if r["role"] != "system"]
        rows = [{"role": r["role"], "content": r["content"]} for r in rows]
        offset = len(rows) - len(conv.messages)
        segs, done, since = [], "", 0
        for k, msg in enumerate(conv.messages):
            if msg.role != "assistant":
                continue
            before = self._apply(rows[: offset + k], True)
            after = self._apply(rows[: offset + k + 1], False)
            if not (before.startswith(done) and after.startswith(before)):
                raise ConfigError(
                    "template=tokenizer: the tokenizer's chat_template is not prefix-stable, so the "
                    "assistant spans cannot be found; pick a named template"
                )
            segs += _mark_contents(before[len(done) :], [r["content"] for r in rows[since : offset + k]])
            segs += _mark_contents(after[len(before) :], [msg.content], labelled=msg.train, turn=k)
            done, since = after, offset + k + 1
        tail = self._apply(rows, add_generation_prompt) if (add_generation_prompt or not segs) else done
        if tail.startswith(done) and len(tail) > len(done):
            segs += _mark_contents(tail[len(done) :], [r["content"] for r in rows[since:]])
        return [s for s in segs if s.text]

    def render_text(self, conv: Conversation, add_generation_prompt: bool = False, system: str | None = None) -> str:
        return "".join(s.text for s in self.render(conv, add_generation_prompt, system))


def _mark_contents(text: str, contents: list[str], labelled: bool = False, turn: int = -1) -> list[Segment]:
    """Cut ``text`` into template pieces and the given message contents (found in order), marked literal.
    A content the template changed (stripped, say) is not found and stays template text."""
    out, pos = [], 0
    for content in contents:
        at = text.find(content, pos) if content else -1
        if at < 0:
            continue
        out += [Segment(text[pos:at], labelled, turn=turn), Segment(content, labelled, literal=True, turn=turn)]
        pos = at + len(content)
    return out + [Segment(text[pos:], labelled, turn=turn)]


PROBE = [
    {"role": "user", "content": "What is 2 + 2?"},
    {"role": "assistant", "content": "4."},
    {"role": "user", "content": "And 3 + 3?"},
    {"role": "assistant", "content": "6."},
]


def own_template_difference(renderer, tokenizer) -> str | None:
    """Where a named template renders a conversation differently from the tokenizer's own chat_template: one line
    with the first difference, or None when they agree (or the tokenizer has no template to compare with).
    The exported model carries the training template, so the user should know it replaces the model's own."""
    own_template = getattr(tokenizer, "chat_template", None)
    if not own_template or renderer.name == TokenizerTemplateRenderer.name:
        return None
    try:
        own = tokenizer.apply_chat_template(PROBE, tokenize=False)
    except Exception:  # a Jinja template that raises on this probe (role rules, ...): nothing to compare
        return None
    ours = renderer.render_text(Conversation.from_dicts(PROBE))
    if own == ours:
        return None
    at = next((i for i, (a, b) in enumerate(zip(ours, own)) if a != b), min(len(ours), len(own)))
    start = max(0, at - 12)
    return (
        f"tune: template={renderer.name} renders differently from the model's own chat_template, which the trained "
        f"model will no longer carry (template=tokenizer keeps it); first difference at character {at}: "
        f"template={renderer.name} has {ours[start : at + 30]!r}, the model's own {own[start : at + 30]!r}"
    )
