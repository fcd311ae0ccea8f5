"""Length-grouped order of examples, by global batch.

An optimiser step consumes one *global batch*: per-device batch x gradient accumulation x ranks examples,
taken as consecutive indices of the sampler (accelerate gives rank r the micro-batches r, r+W, ...).
The sampler yields a seeded permutation in which every consecutive global batch holds examples of similar
length, sorted longest first, so each micro-batch carries little padding. Grouping by the *global* batch
keeps the set of examples of every step independent of how it is split (2 ranks x 2 == 1 rank x 4 ==
accumulation 4 x 1); transformers' ``train_sampling_strategy="group_by_length"`` groups per device and per
accumulation step instead, so a different split trains on different steps.

As in transformers' LengthGroupedSampler, lengths are sorted within megabatches of 50 global batches of a
random permutation (randomness kept across the epoch), the global batches are shuffled, and the one holding
the longest example goes first, so a batch that does not fit in memory fails at step 1, not hours in.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch.utils.data import Sampler

MEGABATCH_GLOBAL_BATCHES = 50


def global_batch_order(lengths: Sequence[int], global_batch: int, seed: int, epoch: int = 0) -> list[int]:
    """Indices: consecutive runs of ``global_batch`` with similar lengths, longest first within each; the last
    run is the remainder (a partial last step, as with random order)."""
    n = len(lengths)
    g = torch.Generator().manual_seed(seed + epoch)
    perm = torch.randperm(n, generator=g).tolist()
    full = n - n % global_batch
    batches: list[list[int]] = []
    mega = MEGABATCH_GLOBAL_BATCHES * global_batch
    for start in range(0, full, mega):
        group = sorted(perm[start:min(start + mega, full)], key=lambda i: -lengths[i])
        batches += [group[k:k + global_batch] for k in range(0, len(group), global_batch)]
    if batches:
        order = torch.randperm(len(batches), generator=g).tolist()
        batches = [batches[k] for k in order]
        longest = max(range(len(batches)), key=lambda k: lengths[batches[k][0]])
        batches.insert(0, batches.pop(longest))
    tail = sorted(perm[full:], key=lambda i: -lengths[i])
    return [i for b in batches for i in b] + tail


class GlobalBatchLengthSampler(Sampler[int]):
    """``global_batch_order`` as a sampler; the Trainer's ``set_epoch`` reseeds each epoch."""

    def __init__(self, lengths: Sequence[int], global_batch: int, seed: int):
        self.lengths = list(lengths)
        self.global_batch = max(1, int(global_batch))
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        return iter(global_batch_order(self.lengths, self.global_batch, self.seed, self.epoch))


def example_lengths(ds) -> list[int]:
    """Token count of every example of a tokenised datasets.Dataset, read from Arrow (no Python lists of ids)."""
    import pyarrow.compute as pc

    return pc.list_value_length(ds.with_format("arrow")["input_ids"]).to_pylist()  # respects select/split indices


def padding_fraction(lengths: Sequence[int], order: Sequence[int], micro_batch: int) -> float:
    """The share of padded tokens when ``order`` is cut into micro-batches each padded to its longest."""
    real = padded = 0
    for k in range(0, len(order), micro_batch):
        ls = [lengths[i] for i in order[k:k + micro_batch]]
        real += sum(ls)
        padded += max(ls) * len(ls)
    return 1 - real / padded if padded else 0.0
