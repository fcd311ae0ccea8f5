"""Replies from a trained model, prompted with the training renderer (the same segments, tokenised the
same way, as in training)."""
from __future__ import annotations

import torch

from ..data.conversation import Conversation
from ..data.labels import SegmentEncoder
from ..models.vocab import stop_token_ids


def prompt_ids(renderer, tokenizer, conversations: list[Conversation]) -> list[list[int]]:
    """The ids training put before each answer: one call on the rendered prompt (as apply_chat_template gives)."""
    segments = [renderer.render(c, add_generation_prompt=True) for c in conversations]
    return SegmentEncoder(tokenizer, renderer.control_tokens).prompt_ids(segments)


def cut_at_stop(text: str, stops: list[str]) -> str:
    cuts = [text.index(s) for s in stops if s and s in text]
    return text[: min(cuts)] if cuts else text


def batches_safely(model) -> bool:
    """Whether a left-padded batch answers as each conversation alone does. peft's prompt learning (P-Tuning v2's
    prefix) does not: its greedy replies in a padded batch differed from the same prompts alone (measured on the
    tiny model, tests/integration/test_methods.py), so such a model answers one conversation at a time."""
    config = getattr(model, "active_peft_config", None)
    return not getattr(config, "is_prompt_learning", False)


def generate_replies(model, tokenizer, renderer, conversations: list[Conversation], max_new_tokens: int = 256,
                     temperature: float = 0.0, streamer=None) -> list[str]:
    """One reply per conversation (a batch, left-padded, where the model batches safely); stops at end-of-turn
    or eos."""
    if len(conversations) > 1 and not batches_safely(model):
        return [generate_replies(model, tokenizer, renderer, [c], max_new_tokens, temperature, streamer)[0]
                for c in conversations]
    ids = prompt_ids(renderer, tokenizer, conversations)
    longest = max(len(x) for x in ids)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (longest - len(x)) + x for x in ids])
    attention = torch.tensor([[0] * (longest - len(x)) + [1] * len(x) for x in ids])
    device = next(model.parameters()).device
    stops = renderer.stop_strings
    kwargs = dict(max_new_tokens=max_new_tokens, pad_token_id=pad, eos_token_id=stop_token_ids(tokenizer, stops),
                  do_sample=temperature > 0, streamer=streamer)
    if temperature > 0:
        kwargs["temperature"] = temperature
    multi = [s for s in stops if len(tokenizer(s, add_special_tokens=False)["input_ids"]) > 1]
    if multi:
        kwargs.update(stop_strings=multi, tokenizer=tokenizer)
    with torch.no_grad():
        out = model.generate(input_ids=input_ids.to(device), attention_mask=attention.to(device), **kwargs)
    replies = []
    for row in out[:, longest:]:
        text = tokenizer.decode(row, skip_special_tokens=False)
        text = cut_at_stop(text, stops + [tokenizer.pad_token or ""])
        replies.append(text.strip())
    return replies
