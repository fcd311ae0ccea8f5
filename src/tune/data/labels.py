"""Conversation segments -> input_ids + labels.

Each segment is tokenised on its own and the ids are concatenated, so no BPE merge crosses a
prompt/answer boundary and the label mask is exact by construction. Labels are the ids of every
labelled segment (assistant content + end-of-turn), -100 elsewhere.
"""
from __future__ import annotations

from dataclasses import dataclass

from .templates import Segment

IGNORE_INDEX = -100


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False

    @property
    def n_labelled(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE_INDEX)


def tokenize_segment_batch(tokenizer, batch: list[list[Segment]]) -> list[list[list[int]]]:
    """Token ids for every segment of every conversation, in two batched tokenizer calls.

    Template text may hold special tokens (``</s>``, ``<|im_end|>``) and is tokenised with them;
    user data is tokenised with special tokens split, so a literal "</s>" in a dataset stays text.
    """
    plain, literal = [], []
    for segs in batch:
        for s in segs:
            (literal if s.literal else plain).append(s.text)
    ids_plain = _encode(tokenizer, plain, split_special=False)
    ids_literal = _encode(tokenizer, literal, split_special=True)
    it_plain, it_literal = iter(ids_plain), iter(ids_literal)
    return [[next(it_literal) if s.literal else next(it_plain) for s in segs] for segs in batch]


PROBE = "\n"


def adds_prefix_space(tokenizer) -> bool:
    """True for tokenizers that put a word-start marker before every encoded text (sentencepiece Llama,
    Metaspace with prepend_scheme="always"): "a" and "b" encoded apart then decode as "a b"."""
    cached = getattr(tokenizer, "_tune_adds_prefix_space", None)
    if cached is None:
        ids = tokenizer("a", add_special_tokens=False)["input_ids"]
        cached = tokenizer.decode(ids + ids, skip_special_tokens=True) != "aa"
        try:
            tokenizer._tune_adds_prefix_space = cached
        except AttributeError:
            pass
    return cached


def _encode(tokenizer, texts: list[str], split_special: bool) -> list[list[int]]:
    if not texts:
        return []
    if not adds_prefix_space(tokenizer):
        return tokenizer(texts, add_special_tokens=False, split_special_tokens=split_special)["input_ids"]
    # Such tokenizers would put a spurious space at every segment boundary. Encode each segment after a
    # newline and drop the newline's ids, so the concatenated ids decode to exactly the rendered text.
    probe = tokenizer(PROBE, add_special_tokens=False)["input_ids"]
    probed = tokenizer([PROBE + t for t in texts], add_special_tokens=False, split_special_tokens=split_special)["input_ids"]
    plain = None
    out = []
    for i, ids in enumerate(probed):
        if ids[: len(probe)] == probe:
            out.append(ids[len(probe):])
        else:  # the probe merged with the text: fall back to plain encoding for this one
            plain = plain or tokenizer(texts, add_special_tokens=False, split_special_tokens=split_special)["input_ids"]
            out.append(plain[i])
    return out


def build_example(segments: list[Segment], seg_ids: list[list[int]], max_length: int | None,
                  train_on_prompt: bool = False, mask_history: bool = False) -> Example:
    """Concatenate segment ids, label them, and truncate to max_length.

    Truncation keeps whole segments from the start; an assistant answer that does not fit keeps its
    beginning; a prompt segment that does not fit ends the example there.
    """
    last_turn = max((s.turn for s in segments if s.labelled), default=None)
    input_ids: list[int] = []
    labels: list[int] = []
    truncated = False
    for seg, ids in zip(segments, seg_ids):
        labelled = train_on_prompt or (seg.labelled and (not mask_history or seg.turn == last_turn))
        if max_length is not None and len(input_ids) + len(ids) > max_length:
            truncated = True
            if seg.labelled or train_on_prompt:
                ids = ids[: max_length - len(input_ids)]
            else:
                break
            input_ids += ids
            labels += ids if labelled else [IGNORE_INDEX] * len(ids)
            break
        input_ids += ids
        labels += ids if labelled else [IGNORE_INDEX] * len(ids)
    return Example(input_ids, labels, truncated)
