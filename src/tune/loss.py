"""The training loss: the mean over labelled tokens of the whole optimiser step, computed only where a token
is labelled.

Normalisation. HF Trainer counts the labelled tokens of every micro-batch in the accumulation window (and, with
average_tokens_across_devices, of every rank) and passes that count as ``num_items_in_batch``; summing token
losses and dividing by it gives a token mean over the step, so a micro-batch with 3 labelled tokens weighs
3/303 next to one with 300, not 1/2.

Logits only where needed. A causal LM computes ``lm_head(hidden)`` for every position; with a 128k-151k
vocabulary that tensor (and its fp32 copy) is most of a step's memory, for positions that are mostly prompt
or padding. ``labelled_token_loss`` runs the model's own forward (peft's P-Tuning prefix, ZeRO-3's gathering
hooks and added-token wrappers all stay in the path) with a pre-hook on its output-embedding module: the
module is handed no position at all, the hook keeps the hidden states at positions whose *next* token is
labelled, and the loss applies that same module to them chunk by chunk, each chunk recomputed in backward
(activation checkpointing), so at most one chunk of fp32 logits is alive at a time. Written by hand because
transformers' ``logits_to_keep`` still materialises all kept logits at once and Liger's fused kernel reads
``lm_head.weight`` directly (partitioned under ZeRO-3, wrapped for added-token rows under peft).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .data.labels import IGNORE_INDEX

# One chunk of fp32 logits holds at most this many elements (2**26 x 4 bytes = 256 MiB): 443 positions with
# Qwen2's 151,936-token vocabulary. Small vocabularies fit a whole batch in one chunk, computed without recompute.
CHUNK_ELEMENTS = 2 ** 26

# Config fields of models that transform logits after lm_head (Gemma-2 soft-capping, Cohere and Granite
# scaling): the hook would skip that step, so those models take the full-logits path.
_LOGIT_POSTPROCESSING = ("final_logit_softcapping", "logit_scale", "logits_scaling")


def causal_lm_loss(outputs, labels: torch.Tensor, num_items_in_batch=None) -> torch.Tensor:
    """The loss from full logits (every position): the reference the labelled-only path is tested against."""
    logits = outputs["logits"] if isinstance(outputs, dict) else outputs.logits
    shift_logits = logits[..., :-1, :].float()
    shift_labels = labels[..., 1:].to(shift_logits.device)
    total = F.cross_entropy(shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1),
                            ignore_index=IGNORE_INDEX, reduction="sum")
    return _normalise(total, shift_labels, num_items_in_batch)


def _normalise(total: torch.Tensor, shift_labels: torch.Tensor, num_items_in_batch) -> torch.Tensor:
    if num_items_in_batch is None:
        num_items_in_batch = shift_labels.ne(IGNORE_INDEX).sum()
    if not torch.is_tensor(num_items_in_batch):
        num_items_in_batch = torch.tensor(float(num_items_in_batch), device=total.device)
    return total / num_items_in_batch.to(total.device).clamp(min=1)


def output_head(model):
    """(head, vocabulary size): the module that turns hidden states into logits (lm_head, or peft's wrapper
    around it), or (None, 0) where the model transforms logits after it."""
    inner = model
    while isinstance(getattr(inner, "module", None), torch.nn.Module):
        inner = inner.module  # DDP / DeepSpeed engine / FSDP: the HF (or peft) model, whose config is the model's
    config = getattr(inner, "config", None)
    get = getattr(inner, "get_output_embeddings", None)
    if (
        config is None
        or get is None
        or any(getattr(config, k, None) not in (None, 1, 1.0) for k in _LOGIT_POSTPROCESSING)
    ):
        return None, 0
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    return get(), int(getattr(text_config, "vocab_size", 0) or 0)


class _KeepLabelledPositions:
    """Forward pre-hook for the output head: keeps hidden[mask] and hands the head zero positions. Fires
    once; a call whose hidden states do not line up with the labels is left alone (full logits)."""

    def __init__(self, mask: torch.Tensor):
        self.mask = mask
        self.hidden = None

    def __call__(self, module, args):
        if self.hidden is not None or not args:
            return None
        hidden = args[0]
        if not torch.is_tensor(hidden) or hidden.dim() != 3 or tuple(hidden.shape[:2]) != tuple(self.mask.shape):
            return None
        self.hidden = hidden[self.mask.to(hidden.device)]
        return (hidden[:, :0],) + tuple(args[1:])


def _cross_entropy_sum(head, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(head(hidden).float(), targets, reduction="sum")


def chunked_cross_entropy_sum(
    head, hidden: torch.Tensor, targets: torch.Tensor, vocab_size: int, chunk_tokens: int = 0
) -> torch.Tensor:
    """sum CE(head(hidden), targets) with at most ``chunk_tokens`` rows of logits alive at a time (default: as
    many as CHUNK_ELEMENTS allows); each chunk is recomputed in backward instead of kept."""
    rows = chunk_tokens or max(64, CHUNK_ELEMENTS // max(vocab_size, 1))
    chunks = _same_on_every_rank(max(1, math.ceil(hidden.shape[0] / rows)), head, hidden.device)
    if chunks == 1:
        return _cross_entropy_sum(head, hidden, targets)
    pieces = zip(hidden.tensor_split(chunks), targets.tensor_split(chunks))  # some may be empty
    if not torch.is_grad_enabled():
        return sum(_cross_entropy_sum(head, h, t) for h, t in pieces)
    from torch.utils.checkpoint import checkpoint

    return sum(checkpoint(_cross_entropy_sum, head, h, t, use_reentrant=False) for h, t in pieces)


def _same_on_every_rank(chunks: int, head, device) -> int:
    """The largest chunk count of any rank where the head's weights are partitioned (ZeRO-3): each call of the
    head gathers them, a collective every rank must make as often as the others. A rank with more labelled
    positions made more calls and the ranks stopped in backward, one in an all-gather, the other in a
    reduce-scatter (SmolLM2, tied embedding, max_length 512: gloo's "collective mismatch", or a hang)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or not any(hasattr(p, "ds_id") for p in head.parameters()):
        return chunks
    count = torch.tensor([chunks], device=device)
    dist.all_reduce(count, op=dist.ReduceOp.MAX)
    return int(count.item())


def labelled_token_loss(model, inputs: dict, labels: torch.Tensor, num_items_in_batch=None, chunk_tokens: int = 0):
    """(loss, outputs): the summed cross-entropy of every labelled token over ``num_items_in_batch`` (default:
    this batch's labelled count), logits computed only at positions whose next token is labelled."""
    head, vocab_size = output_head(model)
    shift_labels = labels[:, 1:]
    if head is None:
        outputs = model(**inputs)
        return causal_lm_loss(outputs, labels, num_items_in_batch), outputs
    mask = torch.zeros_like(labels, dtype=torch.bool)
    mask[:, :-1] = shift_labels.ne(IGNORE_INDEX)
    keep = _KeepLabelledPositions(mask)
    handle = head.register_forward_pre_hook(keep)
    try:
        outputs = model(**inputs)
    finally:
        handle.remove()
    if keep.hidden is None:  # the head never saw this batch's positions: the model's own logits are complete
        return causal_lm_loss(outputs, labels, num_items_in_batch), outputs
    targets = shift_labels[shift_labels.ne(IGNORE_INDEX)].to(keep.hidden.device)
    total = chunked_cross_entropy_sum(head, keep.hidden, targets, vocab_size, chunk_tokens)
    return _normalise(total, shift_labels, num_items_in_batch), outputs


def perplexity(loss: float) -> float:
    """exp(loss), capped so a diverged run reports a large number rather than an overflow."""
    return math.exp(min(loss, 50))
