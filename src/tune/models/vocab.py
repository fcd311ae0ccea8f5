"""Control tokens a chat template needs (chatml's <|im_start|>, llama3's headers, ...) added to a tokenizer that
lacks them, and the model's embeddings grown to match, so a stop marker is one token the model can emit."""
from __future__ import annotations

from ..errors import ConfigError


def missing_control_tokens(tokenizer, tokens) -> list[str]:
    """Tokens that are not added tokens of ``tokenizer``: a plain-vocabulary match is not enough, since only
    added tokens are matched whole wherever they stand in a text."""
    have = set(tokenizer.get_added_vocab())
    return [t for t in dict.fromkeys(tokens) if t and t not in have]


def add_control_tokens(tokenizer, tokens, template: str, allowed: bool = True) -> list[str]:
    """Add the missing ones as special tokens; returns what was added. With ``allowed`` false, refuse instead."""
    from tokenizers import AddedToken

    missing = missing_control_tokens(tokenizer, tokens)
    if missing and not allowed:
        raise ConfigError(f"template={template}: the tokenizer lacks control tokens {', '.join(missing)} "
                          f"(set template.add_missing_tokens=true to add them, or pick a template it has)")
    if missing:
        # single_word keeps an alphanumeric marker (ChatGLM's "sop") from matching inside words of the data
        tokenizer.add_tokens([AddedToken(t, special=True, normalized=False, single_word=t.isalnum())
                              for t in missing], special_tokens=True)
    return missing


def embedding_module_names(model) -> dict[str, object]:
    """Short names (as peft's trainable_token_indices takes them) of the input embeddings and an untied LM head."""
    names = {module: name.rsplit(".", 1)[-1] for name, module in model.named_modules()}
    out = {names[model.get_input_embeddings()]: model.get_input_embeddings()}
    head = model.get_output_embeddings()
    if head is not None and head.weight is not model.get_input_embeddings().weight:
        out[names[head]] = head
    return out


def grow_embeddings(model, vocab_size: int) -> bool:
    """Resize the embeddings (and LM head) when the tokenizer holds ids beyond them; True if it did."""
    if vocab_size <= model.get_input_embeddings().num_embeddings:
        return False
    model.resize_token_embeddings(vocab_size)
    return True


def stop_token_ids(tokenizer, stop_strings) -> list[int]:
    """The tokenizer's eos, then every stop string that is one token (the template's end-of-turn markers:
    chatml's <|im_end|>, llama3's <|eot_id|>, chatglm3's <|user|> ...). Longer stop strings are text, cut after."""
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    for s in stop_strings:
        tok = tokenizer(s, add_special_tokens=False)["input_ids"]
        if len(tok) == 1 and tok[0] not in ids:
            ids.append(tok[0])
    return ids


def set_generation_stops(model, tokenizer, stop_strings) -> list[int]:
    """The model's generation_config stops where the training template ends a turn, so the saved model (and an
    export) stops in plain transformers, vLLM or TGI, not only in `tune chat`."""
    ids = stop_token_ids(tokenizer, stop_strings)
    config = getattr(model, "generation_config", None)
    if config is not None and ids:
        config.eos_token_id = ids if len(ids) > 1 else ids[0]
        config.pad_token_id = tokenizer.pad_token_id
    return ids
