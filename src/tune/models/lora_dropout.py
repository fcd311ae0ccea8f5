"""LoRA's input dropout on CPU: fewer random numbers, and no dropped copy of the input kept for backward.

Two costs of peft's ``lora_B(lora_A(dropout(x)))`` on CPU, measured on SmolLM2 LoRA on every linear layer, 1024
tokens x 4 (benchmarks/profile_step.py):
- time: torch's CPU dropout draws one random number per element (``bernoulli_``, a generator call each): 19% of a
  step. Here one 64-bit word is drawn per four elements and an element is dropped where its 16 bits fall under
  p x 65536, so the drop rate is p rounded to 1/65536 (0.05 -> 0.0500031); kept elements are scaled by the exact
  inverse of the keep rate; the same generator (torch's default, seeded by the trainer); 3.3x faster.
- memory: lora_A keeps its input for its weight's gradient, and with dropout that input is a new tensor in every
  one of the 210 LoRA layers (q, k and v each drop their own copy of the same x): the peak was 12.9 GB, 9.8 GB now.
  DroppedLinear keeps x itself (shared by the layers it feeds) and the generator's state instead, and draws the
  same mask again in backward (as activation checkpointing recomputes).
peft builds its modules itself with no option for other ones, so they are swapped after the adapter is attached:
dropout holds no weights and DroppedLinear is an nn.Linear with the same weight, so the saved adapter is the same.
On a GPU torch's dropout is a fused kernel and stays; a LoRA variant (DoRA) and a lora_A partitioned by DeepSpeed
ZeRO-3 (which gathers its weight around nn.Linear's own forward) get the cheaper mask without the fused linear.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_WORD = 65536  # values of the 16-bit words compared


def keep_mask(x: torch.Tensor, cut: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """True where an element of ``x`` is kept: its 16-bit slice of a random word is at least ``cut`` of 65536."""
    n = x.numel()
    words = torch.randint(-(2**63), 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64, generator=generator)
    return words.view(torch.int16)[:n].view(x.shape) >= cut - _WORD // 2


def dropped(x: torch.Tensor, keep: torch.Tensor, cut: int) -> torch.Tensor:
    """x with the elements ``keep`` drops zeroed and the others scaled by the inverse of the keep rate."""
    return x.mul(keep).mul_(_WORD / (_WORD - cut))  # the second product in place: one new tensor, not two


class WordDropout(nn.Dropout):
    """nn.Dropout (so peft's checks still see a dropout) whose CPU mask comes from keep_mask."""

    def __init__(self, p: float):
        super().__init__(p)
        self.cut = round(p * _WORD)  # words under this (of 65536) drop their element

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.cut == 0:
            return x
        if x.device.type != "cpu":
            return super().forward(x)
        return dropped(x, keep_mask(x, self.cut), self.cut)


class _DroppedLinearFn(torch.autograd.Function):
    """linear(dropout(x), weight), saving x and the generator state rather than the dropped copy."""

    @staticmethod
    @torch.amp.custom_fwd(device_type="cpu")
    def forward(ctx, x, weight, cut):
        state = torch.get_rng_state()
        ctx.save_for_backward(x, weight)
        ctx.state, ctx.cut = state, cut
        return F.linear(dropped(x, keep_mask(x, cut), cut), weight)

    @staticmethod
    @torch.amp.custom_bwd(device_type="cpu")
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        generator = torch.Generator()
        generator.set_state(ctx.state)
        keep = keep_mask(x, ctx.cut, generator)  # the mask forward drew
        grad_x = grad_weight = None
        if ctx.needs_input_grad[1]:
            x_dropped = dropped(x, keep, ctx.cut).to(grad.dtype)
            grad_weight = (grad.reshape(-1, grad.shape[-1]).T @ x_dropped.reshape(-1, x.shape[-1])).to(weight.dtype)
        if ctx.needs_input_grad[0]:
            grad_x = dropped(grad @ weight.to(grad.dtype), keep, ctx.cut)
        return grad_x, grad_weight, None


class DroppedLinear(nn.Linear):
    """lora_A with the dropout of its input inside it (_DroppedLinearFn on CPU while training)."""

    cut = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.cut == 0:
            return super().forward(x)
        if x.device.type != "cpu":
            return super().forward(F.dropout(x, self.cut / _WORD, True))
        if hasattr(self.weight, "ds_id"):  # ZeRO-3 gathers and frees the weight around nn.Linear's own forward
            return super().forward(dropped(x, keep_mask(x, self.cut), self.cut))
        return _DroppedLinearFn.apply(x, self.weight, self.cut)


def use_cpu_dropout(model) -> int:
    """Swaps every LoRA layer's nn.Dropout (p > 0): into its lora_A (DroppedLinear) where the layer is a plain
    LoRA linear, else for WordDropout; returns how many were swapped."""
    from peft.tuners.lora import LoraLayer

    swapped = 0
    for module in model.modules():
        if not isinstance(module, LoraLayer):
            continue
        for name, dropout in list(module.lora_dropout.items()):
            if type(dropout) is not nn.Dropout or dropout.p == 0:
                continue
            lora_a = module.lora_A[name] if name in module.lora_A else None
            if type(lora_a) is nn.Linear and lora_a.bias is None and name not in module.lora_variant:
                lora_a.__class__ = DroppedLinear  # same weight, same state_dict; the dropout moves inside
                lora_a.cut = round(dropout.p * _WORD)
                module.lora_dropout[name] = nn.Identity()
            else:
                module.lora_dropout[name] = WordDropout(dropout.p)
            swapped += 1
    return swapped
