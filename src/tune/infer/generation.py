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


def generate_ids(model, input_ids, attention_mask, **kwargs):
    """``model.generate`` (prompt and new ids), except for prefix tuning (P-Tuning v2), which it drives itself."""
    config = getattr(model, "active_peft_config", None)
    with torch.no_grad():
        if getattr(config, "peft_type", None) == "PREFIX_TUNING":
            return _generate_with_prefix(model, input_ids, attention_mask, config.num_virtual_tokens, **kwargs)
        return model.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)


def _generate_with_prefix(model, input_ids, attention_mask, virtual_tokens: int, **kwargs):
    """peft 0.21's generate for prefix tuning under transformers 5 puts a fresh prefix cache in place of the
    generation cache at every step, so each new token sees the prefix and itself, not the prompt (its replies
    came out as the base model's; tests/integration/test_methods.py compares each method's replies with a
    step-by-step decode of the forward pass that training used). Here the prefix is the cache of
    ``virtual_tokens`` positions that placeholder ids stand for: generate computes only the prompt on top of it,
    at positions after the prefix as in training, and keeps its own cache from there."""
    batch = input_ids.shape[0]
    cache = model.get_prompt(batch_size=batch)
    placeholder = input_ids.new_zeros((batch, virtual_tokens))
    ones = attention_mask.new_ones((batch, virtual_tokens))
    out = model.get_base_model().generate(input_ids=torch.cat([placeholder, input_ids], dim=1),
                                          attention_mask=torch.cat([ones, attention_mask], dim=1),
                                          past_key_values=cache, **kwargs)
    return out[:, virtual_tokens:]


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
    out = generate_ids(model, input_ids.to(device), attention.to(device), **kwargs)
    replies = []
    for row in out[:, longest:]:
        text = tokenizer.decode(row, skip_special_tokens=False)
        text = cut_at_stop(text, stops + [tokenizer.pad_token or ""])
        replies.append(text.strip())
    return replies
