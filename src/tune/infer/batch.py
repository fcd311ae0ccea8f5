"""`tune generate checkpoint=DIR input=FILE.jsonl out=FILE.jsonl`: batched replies for a file of prompts.

Input rows are any supported dataset format (a trailing user turn is the prompt) or {"prompt": "..."};
each output row is the input row plus "prediction".
"""
from __future__ import annotations

import json

from ..data.conversation import Conversation, Message, canonical_role
from ..data.reading import expand_paths, read_records
from ..errors import ConfigError, DataError
from ..outputs import refuse_overwriting_inputs
from .generation import generate_replies
from .load import load_trained


def prompt_conversation(record: dict, source: str, line: int) -> Conversation:
    """The conversation to answer: {"prompt"}, {"messages"}, {"conversations"} or alpaca instruction/input."""
    if isinstance(record.get("prompt"), str):
        return Conversation([Message("user", record["prompt"])], system=record.get("system", "") or "")
    turns = record.get("messages") or record.get("conversations")
    if isinstance(turns, list):
        conv = Conversation()
        for t in turns:
            role = canonical_role(t.get("role", t.get("from")))
            content = t.get("content", t.get("value")) or ""
            if role == "system":
                conv.system = content
            else:
                conv.messages.append(Message(role, content))
        while conv.messages and conv.messages[-1].role == "assistant":  # answer the last user turn
            conv.messages.pop()
        return conv
    text = record.get("instruction") or record.get("question") or record.get("input")
    if isinstance(text, str) and text.strip():
        extra = record.get("input") if record.get("instruction") else ""
        return Conversation([Message("user", f"{text}\n\n{extra}" if extra and extra.strip() else text)],
                            system=record.get("system", "") or "")
    raise DataError("no prompt (expected prompt, messages, conversations, instruction or question)",
                    source=source, line=line)


def generate_file(cfg, batch_size: int = 8, trust_remote_code: bool = False) -> int:
    if not cfg.input or not cfg.out:
        raise ConfigError("input/out: both needed (tune generate checkpoint=DIR input=FILE.jsonl out=FILE.jsonl)")
    inputs = expand_paths(cfg.input)
    refuse_overwriting_inputs(cfg.out, inputs, "out")
    trained = load_trained(cfg.checkpoint, trust_remote_code=trust_remote_code)
    rows = [(r.source, r.line, r.record) for path in inputs for r in read_records(path)]
    n = 0
    with open(cfg.out, "w", encoding="utf-8") as f:
        for i in range(0, len(rows), batch_size):
            chunk = rows[i: i + batch_size]
            convs = [prompt_conversation(rec, src, line) for src, line, rec in chunk]
            replies = generate_replies(trained.model, trained.tokenizer, trained.renderer, convs,
                                       cfg.max_new_tokens, cfg.temperature)
            for (_, _, rec), reply in zip(chunk, replies):
                f.write(json.dumps({**rec, "prediction": reply}, ensure_ascii=False) + "\n")
                n += 1
    return n
