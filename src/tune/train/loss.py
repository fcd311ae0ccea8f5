"""The training loss: the mean over labelled tokens of the whole optimiser step.

HF Trainer counts the labelled tokens of every micro-batch in the accumulation window (and, with
average_tokens_across_devices, of every rank) and passes that count as ``num_items_in_batch``; summing
token losses and dividing by it gives a token mean over the step, so a micro-batch with 3 labelled
tokens weighs 3/303 next to one with 300, not 1/2. Given as ``compute_loss_func`` so it holds for any
model, peft wrapper included, whether or not its forward accepts loss kwargs.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..data.labels import IGNORE_INDEX


def causal_lm_loss(outputs, labels: torch.Tensor, num_items_in_batch=None) -> torch.Tensor:
    logits = outputs["logits"] if isinstance(outputs, dict) else outputs.logits
    shift_logits = logits[..., :-1, :].float()
    shift_labels = labels[..., 1:].to(shift_logits.device)
    total = F.cross_entropy(shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1),
                            ignore_index=IGNORE_INDEX, reduction="sum")
    if num_items_in_batch is None:
        num_items_in_batch = shift_labels.ne(IGNORE_INDEX).sum()
    if not torch.is_tensor(num_items_in_batch):
        num_items_in_batch = torch.tensor(float(num_items_in_batch), device=total.device)
    return total / num_items_in_batch.to(total.device).clamp(min=1)


def perplexity(loss: float) -> float:
    """exp(loss), capped so a diverged run reports a large number rather than an overflow."""
    return math.exp(min(loss, 50))
