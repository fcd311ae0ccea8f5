"""A Hugging Face fast tokenizer as GGUF's tokenizer keys: the token list, each token's type, BPE merges or
sentencepiece scores, the pre-tokenizer's llama.cpp name, and the special ids.

By hand where gguf's vocab helpers read the wrong things for a trained model: BpeVocab marks every token inside
the vocabulary NORMAL (tiny's and SmolLM2's ``<s>``, ``<|im_start|>``, ``<|im_end|>`` are inside it, so
llama.cpp would neither parse nor stop on them), and LlamaHfVocab gives every sentencepiece token the score
-1000 (llama.cpp's sentencepiece tokenizer merges by score). Here the types come from the tokenizer's special
tokens plus the template's control tokens, and scores from the merge ranks tokenizer.json holds.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..models.pretokenizers import llama_cpp_pre_name

BYTE_TOKEN = re.compile(r"<0x[0-9A-Fa-f]{2}>")


@dataclass
class GGUFVocab:
    model: str                       # tokenizer.ggml.model: gpt2 (byte-level BPE) | llama (sentencepiece-style)
    tokens: list[str]
    types: list                      # gguf.TokenType per token
    pre: str | None = None           # tokenizer.ggml.pre (byte-level BPE only)
    merges: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    add_space_prefix: bool = False


def _merge_strings(model: dict) -> list[str]:
    return [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]


def gguf_vocab(tokenizer, n_vocab: int, control_tokens=(), pre: str | None = None) -> GGUFVocab:
    """The vocabulary of ``tokenizer`` padded to ``n_vocab`` rows (the embedding's; extra rows are UNUSED
    [PADn] tokens, as llama.cpp's converter writes them). ``control_tokens``: strings the template uses as
    single control tokens (typed CONTROL); ``pre``: a pre-tokenizer name recorded for this model (a GGUF file it
    came from), checked against the tokenizer's own splitting."""
    import gguf

    spec, sentencepiece, name = check_tokenizer(tokenizer, pre)
    model = spec["model"]
    vocab = tokenizer.get_vocab()  # added tokens included
    by_id = {i: t for t, i in vocab.items()}
    if max(by_id) >= n_vocab:
        raise ConfigError(f"export.gguf: the tokenizer has ids up to {max(by_id)}, beyond the model's {n_vocab} "
                          "embedding rows")
    added = tokenizer.added_tokens_decoder
    special_ids = set(tokenizer.all_special_ids) | {i for i, t in added.items() if t.special}
    special_ids |= {vocab[s] for s in control_tokens if s in vocab}

    def token_type(i: int, token: str | None):
        if token is None:
            return gguf.TokenType.UNUSED
        if i in special_ids:
            return gguf.TokenType.UNKNOWN if sentencepiece and token == tokenizer.unk_token else gguf.TokenType.CONTROL
        if sentencepiece and BYTE_TOKEN.fullmatch(token):
            return gguf.TokenType.BYTE
        return gguf.TokenType.USER_DEFINED if i in added else gguf.TokenType.NORMAL

    tokens = [by_id.get(i, f"[PAD{i}]") for i in range(n_vocab)]
    types = [token_type(i, by_id.get(i)) for i in range(n_vocab)]
    merges = _merge_strings(model)
    if sentencepiece:
        # llama.cpp's sentencepiece tokenizer merges the adjacent pair whose result scores highest: a token made
        # by merge number r scores -r, so merges apply in tokenizer.json's order (tokens no merge makes: 0)
        rank = {m.replace(" ", ""): r for r, m in enumerate(merges)}
        scores = [-float(rank[t] + 1) if t in rank else 0.0 for t in tokens]
        prepend = (spec.get("pre_tokenizer") or {}).get("prepend_scheme", "first") != "never"
        normalizer_prepends = "Prepend" in json.dumps(spec.get("normalizer") or {})
        return GGUFVocab("llama", tokens, types, scores=scores, add_space_prefix=prepend or normalizer_prepends)
    return GGUFVocab("gpt2", tokens, types, pre=name, merges=merges)


def check_tokenizer(tokenizer, pre: str | None = None) -> tuple[dict, bool, str | None]:
    """(tokenizer.json's spec, whether it is sentencepiece-style BPE, llama.cpp's pre-tokenizer name for a
    byte-level one); refuses, in one line, a tokenizer llama.cpp would read or split differently. `tune export`
    calls it before the weights load (GGUF.check), gguf_vocab again when it writes."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec["model"]
    if model.get("type") != "BPE":
        raise ConfigError(f"export.gguf: a {model.get('type')} tokenizer model is not written yet (byte-level BPE and "
                          "sentencepiece-style BPE are)")
    if bool(model.get("byte_fallback")) or (spec.get("pre_tokenizer") or {}).get("type") == "Metaspace":
        return spec, True, None
    name = llama_cpp_pre_name(tokenizer.backend_tokenizer.pre_tokenizer)
    if pre is not None and name != pre:
        raise ConfigError(f"export.gguf: the model's GGUF file names pre-tokenizer {pre!r}, but its tokenizer "
                          f"splits as llama.cpp's {name!r}")
    if name is None:
        raise ConfigError("export.gguf: the tokenizer's pre-tokenizer splits text unlike every one llama.cpp knows "
                          f"({json.dumps(spec.get('pre_tokenizer'))[:120]}); llama.cpp would tokenise differently")
    return spec, False, name
