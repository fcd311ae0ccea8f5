"""Rendered segments -> input_ids + labels, exactly as the model sees the text when served.

One definition of exact: the trained ids are the tokenizer's ids for the whole rendered text in one call,
which is what ``apply_chat_template(..., tokenize=True)`` gives at inference. The text is tokenised once and
each token is labelled by the characters it covers (an answer, its lead and its end-of-turn text).
Two cases need more than one call, handled as transformers' ``sanitize_control_tokens`` does:
- control-token strings inside user data (a literal ``</s>`` in a record) stay text: the text is cut around
  them and each later piece is encoded after a newline whose ids are dropped (no spurious sentencepiece space);
- a token that would straddle a labelled/unlabelled boundary (data-dependent merges): the example is encoded
  piece by piece at those boundaries instead, so labels stay exact, and it is counted as not one-call exact.
Tokenizers without offsets (slow, Python ones) always take the piecewise path.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .segments import Segment

IGNORE_INDEX = -100
PROBE = "\n"


@dataclass
class Encoded:
    input_ids: list[int]
    turns: list[int]        # per token: the assistant turn it is labelled for, or -1
    exact: bool = True      # the ids are those of one call on the rendered text (control tokens in data aside)
    text: str = ""          # the rendered text the ids come from


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False
    exact: bool = True

    @property
    def n_labelled(self) -> int:
        return len(self.labels) - self.labels.count(IGNORE_INDEX)


class SegmentEncoder:
    """Tokenises rendered conversations for one tokenizer; ``control_tokens`` are the template's own (they
    stay text inside user data, like the tokenizer's special tokens)."""

    def __init__(self, tokenizer, control_tokens: tuple[str, ...] = ()):
        self.tokenizer = tokenizer
        decoder = getattr(tokenizer, "added_tokens_decoder", {}) or {}
        specials = {t.content for t in decoder.values() if t.special} | set(control_tokens)
        specials |= {t for t in getattr(tokenizer, "all_special_tokens", []) if t}
        longest_first = sorted((t for t in specials if t and not t.isspace()), key=len, reverse=True)
        self.control_re = re.compile("|".join(map(re.escape, longest_first))) if longest_first else None
        self.offsets = getattr(tokenizer, "backend_tokenizer", None) is not None  # a fast (Rust) tokenizer
        self.probe_ids = tokenizer(PROBE, add_special_tokens=False)["input_ids"]

    # -- public -------------------------------------------------------------------------------------------
    def encode(self, batch: list[list[Segment]]) -> list[Encoded]:
        """Ids and per-token labelled turns for each conversation's segments."""
        texts = ["".join(s.text for s in segs) for segs in batch]
        marks = [self._marks(segs) for segs in batch]
        out: list[Encoded | None] = [None] * len(batch)
        if self.offsets:
            simple = [i for i, m in enumerate(marks) if not m]
            for i, encoded in zip(
                simple, self._encode_and_label([texts[i] for i in simple], [batch[i] for i in simple])
            ):
                out[i] = encoded
            for i, m in enumerate(marks):
                if m:
                    ids, offsets = self._encode_pieces(texts[i], self._pieces(texts[i], m, ()))
                    out[i] = self._label_by_offsets(batch[i], ids, offsets)
        done = [encoded if encoded is not None  # else no offsets, or a token straddles a label boundary:
                else self._encode_at_boundaries(segs, texts[i], marks[i])  # piece by piece
                for i, (encoded, segs) in enumerate(zip(out, batch))]
        for encoded, text in zip(done, texts):
            encoded.text = text
        return done

    def prompt_ids(self, batch: list[list[Segment]]) -> list[list[int]]:
        """Ids of unlabelled text (generation prompts): one call each, control tokens in data kept as text."""
        return [
            e.input_ids for e in self.encode([[Segment(s.text, literal=s.literal) for s in segs] for segs in batch])
        ]

    # -- internals ----------------------------------------------------------------------------------------
    def _encode_and_label(self, texts: list[str], batch: list[list[Segment]]) -> list[Encoded | None]:
        """One call per text (batched) on the Rust tokenizer, each token labelled from the encoding's own
        char -> token map at the few span boundaries: converting every token's offsets to Python would cost
        more than the tokenisation (same ids as a transformers call, as the exactness tests hold)."""
        if not texts:
            return []
        encodings = self.tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False)
        return [self._label_encoding(segs, enc) for segs, enc in zip(batch, encodings)]

    def _label_encoding(self, segs: list[Segment], enc) -> Encoded | None:
        ids = enc.ids
        turns = [-1] * len(ids)
        for a, b, turn in self._labelled_spans(segs):
            first, last = enc.char_to_token(a), enc.char_to_token(b - 1)
            if first is None or last is None or enc.token_to_chars(first)[0] < a:
                return None  # the span's first token starts before it (or the map has a hole): straddle
            while last + 1 < len(ids) and enc.token_to_chars(last + 1)[0] < b:
                last += 1  # byte-fallback pieces of the span's last character
            if enc.token_to_chars(last)[1] > b:
                return None
            turns[first : last + 1] = [turn] * (last + 1 - first)
        return Encoded(ids, turns, exact=True)

    def _marks(self, segs: list[Segment]) -> list[tuple[int, int]]:
        """Character spans of control-token strings inside literal (user data) segments."""
        if self.control_re is None:
            return []
        marks, pos = [], 0
        for s in segs:
            if s.literal:
                marks += [(pos + m.start(), pos + m.end()) for m in self.control_re.finditer(s.text)]
            pos += len(s.text)
        return marks

    @staticmethod
    def _pieces(text: str, marks: list[tuple[int, int]], cuts) -> list[tuple[int, int, bool]]:
        """(start, end, as_text) pieces of text: marked control tokens as text, cut also at ``cuts``."""
        points = sorted({0, len(text), *cuts, *(p for m in marks for p in m)})
        marked = set(marks)
        return [(a, b, (a, b) in marked) for a, b in zip(points, points[1:]) if b > a]

    def _encode_pieces(self, text: str, pieces) -> tuple[list[int], list[tuple[int, int]]]:
        """Encode pieces (the first as is, later ones after a dropped newline probe); offsets in text coordinates."""
        ids, offsets = [], []
        for a, b, as_text in pieces:
            piece = text[a:b]
            if a == 0:
                enc = self._call(piece, as_text)
                shift, drop = 0, 0
            else:
                enc = self._call(PROBE + piece, as_text)
                shift, drop = len(PROBE), len(self.probe_ids)
                if enc["input_ids"][:drop] != self.probe_ids:  # the probe merged with the piece: encode it alone
                    enc, shift, drop = self._call(piece, as_text), 0, 0
            ids += enc["input_ids"][drop:]
            if self.offsets:
                offsets += [(a + max(s - shift, 0), a + max(e - shift, 0)) for s, e in enc["offset_mapping"][drop:]]
        return ids, offsets

    def _call(self, text: str, as_text: bool):
        kwargs = {"return_offsets_mapping": True} if self.offsets else {}
        return self.tokenizer(text, add_special_tokens=False, split_special_tokens=as_text, **kwargs)

    @staticmethod
    def _labelled_spans(segs: list[Segment]) -> list[tuple[int, int, int]]:
        """(start, end, turn) character spans of labelled text, adjacent pieces of one turn merged."""
        spans: list[tuple[int, int, int]] = []
        pos = 0
        for s in segs:
            end = pos + len(s.text)
            if s.labelled:
                if spans and spans[-1][1] == pos and spans[-1][2] == s.turn:
                    spans[-1] = (spans[-1][0], end, s.turn)
                else:
                    spans.append((pos, end, s.turn))
            pos = end
        return spans

    def _label_by_offsets(self, segs, ids, offsets) -> Encoded | None:
        """Label each token by its character offsets (the path for data holding control-token strings); None
        when one covers labelled and unlabelled text."""
        turns = np.full(len(ids), -1, dtype=np.int64)
        if not len(ids):
            return Encoded([], [], exact=True)
        off = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
        starts = off[:, 0]
        ends = np.maximum(off[:, 1], starts + 1)  # an empty span (a prepended marker) belongs to the char at start
        if np.any(np.diff(starts) < 0) or np.any(np.diff(ends) < 0):
            return None  # offsets out of order: let the piecewise path decide
        for a, b, turn in self._labelled_spans(segs):
            first = int(np.searchsorted(ends, a, side="right"))  # first token ending after a
            stop = int(np.searchsorted(starts, b, side="left"))  # tokens starting before b
            if first >= stop:
                continue
            if starts[first] < a or ends[stop - 1] > b:
                return None
            turns[first:stop] = turn
        return Encoded(list(ids), turns.tolist(), exact=True)

    def _encode_at_boundaries(self, segs, text, marks) -> Encoded:
        spans = self._labelled_spans(segs)
        cuts = {p for a, b, _ in spans for p in (a, b)}
        pieces = self._pieces(text, marks, cuts)
        ids, turns = [], []
        for piece in pieces:
            piece_ids, _ = self._encode_pieces(text, [piece])
            turn = next((t for a, b, t in spans if a <= piece[0] < b), -1)
            ids += piece_ids
            turns += [turn] * len(piece_ids)
        return Encoded(ids, turns, exact=False)


def build_example(
    encoded: Encoded, max_length: int | None, train_on_prompt: bool = False, mask_history: bool = False
) -> Example:
    """Labels from the encoded turns, truncated to max_length.

    Truncation keeps the beginning: an answer that does not fit keeps its first tokens; prompt text left at
    the end of a cut example (nothing after it is labelled) is dropped.
    """
    ids, turns = encoded.input_ids, encoded.turns
    last_turn = max(turns, default=-1)
    labels = [
        t if train_on_prompt or (turn >= 0 and (not mask_history or turn == last_turn)) else IGNORE_INDEX
        for t, turn in zip(ids, turns)
    ]
    truncated = max_length is not None and len(ids) > max_length
    if truncated:
        ids, labels = ids[:max_length], labels[:max_length]
        end = len(labels)
        while end and labels[end - 1] == IGNORE_INDEX:
            end -= 1
        ids, labels = ids[:end], labels[:end]
    return Example(list(ids), labels, truncated, encoded.exact)


def tokenize_conversation(
    tokenizer,
    renderer,
    conv,
    max_length: int | None = None,
    train_on_prompt: bool = False,
    mask_history: bool = False,
    encoder: SegmentEncoder | None = None,
) -> Example:
    """One conversation rendered with ``renderer`` and tokenised as training does."""
    encoder = encoder or SegmentEncoder(tokenizer, renderer.control_tokens)
    return build_example(encoder.encode([renderer.render(conv)])[0], max_length, train_on_prompt, mask_history)
