"""Pack tokenised examples into rows of at most max_length tokens.

Each row carries ``position_ids`` that restart at 0 for every example; with no attention mask,
transformers then builds a block-diagonal causal mask (sdpa/eager, training, no KV cache), so no
token attends across examples. The first label of every example is -100, so no label makes the
previous example predict the next one's first token.
"""
from __future__ import annotations

import bisect

from .labels import IGNORE_INDEX


def pack_examples(input_ids: list[list[int]], labels: list[list[int]], max_length: int,
                  example_ids: list[int] | None = None) -> dict:
    """Best-fit-decreasing bin packing; returns columns input_ids, labels, position_ids (lists of rows), and
    ``examples`` (each row's members as example_ids, default their indices) in row order."""
    order = sorted(range(len(input_ids)), key=lambda i: -len(input_ids[i]))
    bins: list[list[int]] = []          # example indices per row
    free: list[tuple[int, int]] = []    # sorted (free space, bin index)
    for i in order:
        n = min(len(input_ids[i]), max_length)
        k = bisect.bisect_left(free, (n, -1))
        if k < len(free):
            space, b = free.pop(k)
        else:
            bins.append([])
            space, b = max_length, len(bins) - 1
        bins[b].append(i)
        bisect.insort(free, (space - n, b))
    out: dict[str, list] = {"input_ids": [], "labels": [], "position_ids": [], "examples": []}
    for members in bins:
        ids, labs, pos = [], [], []
        for i in sorted(members):  # input order inside a row
            x, y = input_ids[i][:max_length], labels[i][:max_length]
            ids += x
            labs += [IGNORE_INDEX] + y[1:]
            pos += list(range(len(x)))
        out["input_ids"].append(ids)
        out["labels"].append(labs)
        out["position_ids"].append(pos)
        out["examples"].append([example_ids[i] if example_ids is not None else i for i in sorted(members)])
    return out
