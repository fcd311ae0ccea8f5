"""Batches: right-padded with an attention mask, or packed rows with position_ids and no mask."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .labels import IGNORE_INDEX


@dataclass
class PaddingCollator:
    """Pads to the longest example in the batch (optionally to a multiple, for tensor cores)."""
    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, features: list[dict]) -> dict:
        longest = max(len(f["input_ids"]) for f in features)
        if self.pad_to_multiple_of:
            m = self.pad_to_multiple_of
            longest = (longest + m - 1) // m * m
        ids = torch.full((len(features), longest), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(features), longest), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(features), longest), dtype=torch.long)
        for i, f in enumerate(features):
            n = len(f["input_ids"])
            ids[i, :n] = torch.tensor(f["input_ids"])
            labels[i, :n] = torch.tensor(f["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}


@dataclass
class PackedCollator:
    """Packed rows: padded with a trailing pseudo-example of pad tokens; no attention mask, so the
    model derives block-diagonal attention from the restarting position_ids."""
    pad_token_id: int

    def __call__(self, features: list[dict]) -> dict:
        longest = max(len(f["input_ids"]) for f in features)
        ids = torch.full((len(features), longest), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(features), longest), IGNORE_INDEX, dtype=torch.long)
        pos = torch.arange(longest).repeat(len(features), 1)
        for i, f in enumerate(features):
            n = len(f["input_ids"])
            ids[i, :n] = torch.tensor(f["input_ids"])
            labels[i, :n] = torch.tensor(f["labels"])
            pos[i, :n] = torch.tensor(f["position_ids"])
            pos[i, n:] = torch.arange(longest - n)
        # num_real_tokens: where each row's padding starts (for throughput counts; not a model input)
        real = torch.tensor([len(f["input_ids"]) for f in features])
        return {"input_ids": ids, "labels": labels, "position_ids": pos, "num_real_tokens": real}
