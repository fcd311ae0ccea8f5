"""`tune generate checkpoint=DIR input=FILE.jsonl out=FILE.jsonl`: batched replies for a file of prompts.

Input rows are any supported dataset format (a trailing user turn is the prompt) or {"prompt": "..."};
each output row is the input row plus "prediction".
"""
from __future__ import annotations

import json
import sys
from collections import Counter

from ..data.conversation import Conversation, InvalidConversation, Message, canonical_role, check_text
from ..data.reading import expand_paths, read_records
from ..errors import ConfigError, DataError
from ..outputs import refuse_overwriting_inputs
from .generation import generate_replies
from .load import load_trained


def prompt_conversation(record, source: str, line: int) -> Conversation:
    """The conversation to answer: {"prompt"}, {"messages"}, {"conversations"} or alpaca instruction/input.
    Anything else is a DataError naming the file, the line and the field."""
    def bad(reason: str, field: str | None = None) -> DataError:
        return DataError(reason, source=source, line=line, field=field)

    if not isinstance(record, dict):
        raise bad(f"a row must be a JSON object, not {type(record).__name__}")
    for key in ("prompt", "system"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise bad(f"must be a string, not {type(record[key]).__name__}", key)
    if isinstance(record.get("prompt"), str):
        return Conversation([Message("user", record["prompt"])], system=record.get("system", "") or "")
    key = "messages" if "messages" in record else "conversations"
    turns = record.get(key)
    if turns is not None and not isinstance(turns, list):
        raise bad(f"must be a list of turns, not {type(turns).__name__}", key)
    if turns:
        conv = Conversation()
        for i, t in enumerate(turns):
            if not isinstance(t, dict):
                raise bad(f"a turn must be an object with role and content, not {type(t).__name__}", f"{key}[{i}]")
            try:
                role = canonical_role(t.get("role", t.get("from")))
            except InvalidConversation as err:
                raise bad(err.reason, f"{key}[{i}].role") from None
            content = t.get("content", t.get("value")) or ""
            if not isinstance(content, str):
                raise bad(f"must be a string, not {type(content).__name__}", f"{key}[{i}].content")
            if role == "system":
                conv.system = content
            else:
                conv.messages.append(Message(role, content))
        while conv.messages and conv.messages[-1].role == "assistant":  # answer the last user turn
            conv.messages.pop()
        if not conv.messages:
            raise bad("no user turn to answer", key)
        return conv
    text = record.get("instruction") or record.get("question") or record.get("input")
    extra = record.get("input") if record.get("instruction") else ""
    for name, value in (("instruction/question", text), ("input", extra)):
        if value and not isinstance(value, str):
            raise bad(f"must be a string, not {type(value).__name__}", name)
    if isinstance(text, str) and text.strip():
        return Conversation([Message("user", f"{text}\n\n{extra}" if extra and extra.strip() else text)],
                            system=record.get("system", "") or "")
    raise bad("no prompt (expected prompt, messages, conversations, instruction or question)")


def read_prompts(paths: list[str], on_error: str, skipped: Counter) -> list[tuple[dict, Conversation]]:
    """(row, conversation) for every answerable row; a bad row raises, or is counted in ``skipped`` by reason
    under on_error=skip."""
    out = []
    for path in paths:
        for r in read_records(path):
            try:
                if r.error:
                    raise DataError(r.error, source=r.source, line=r.line)
                conv = prompt_conversation(r.record, r.source, r.line)
                try:
                    check_text(conv)
                except InvalidConversation as err:
                    raise DataError(err.reason, source=r.source, line=r.line, field=err.field) from None
            except DataError as err:
                if on_error != "skip":
                    raise
                skipped[f"{err.field}: {err.reason}" if err.field else err.reason] += 1
                continue
            out.append((r.record, conv))
    return out


def generate_file(cfg, batch_size: int = 8, trust_remote_code: bool = False) -> int:
    if not cfg.input or not cfg.out:
        raise ConfigError("input/out: both needed (tune generate checkpoint=DIR input=FILE.jsonl out=FILE.jsonl)")
    inputs = expand_paths(cfg.input)
    refuse_overwriting_inputs(cfg.out, inputs, "out")
    skipped: Counter = Counter()
    rows = read_prompts(inputs, str(cfg.on_error), skipped)  # every row checked before the model loads
    if skipped:
        reasons = ", ".join(f"{why}: {n}" for why, n in skipped.most_common())
        print(f"tune generate: skipped {sum(skipped.values())} rows ({reasons})", file=sys.stderr)
    trained = load_trained(cfg.checkpoint, trust_remote_code=trust_remote_code)
    n = 0
    with open(cfg.out, "w", encoding="utf-8") as f:
        for i in range(0, len(rows), batch_size):
            chunk = rows[i: i + batch_size]
            replies = generate_replies(trained.model, trained.tokenizer, trained.renderer, [c for _, c in chunk],
                                       cfg.max_new_tokens, cfg.temperature)
            for (rec, _), reply in zip(chunk, replies):
                f.write(json.dumps({**rec, "prediction": reply}, ensure_ascii=False) + "\n")
                n += 1
    return n
