"""Full fine-tuning: every parameter trains (rows of tokens added for the template included)."""
from __future__ import annotations

from dataclasses import dataclass

ADAPTER = False            # saves the whole model
KEEP_FP32_MASTER = True    # fp32 master weights; mixed precision happens in autocast
MERGE_REFUSAL = ""
CHECKPOINTING = True        # activation checkpointing works with it


@dataclass
class Config:
    name: str = "full"


def check(cfg, new_token_ids=()) -> None:
    """Nothing is known not to work with full fine-tuning."""


def load_kwargs(method_cfg, compute_dtype) -> dict:
    return {}


def apply(model, method_cfg, train_cfg, new_token_ids=()):
    for p in model.parameters():
        p.requires_grad_(True)
    return model
