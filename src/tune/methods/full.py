"""Full fine-tuning: every parameter trains (rows of tokens added for the template included)."""
from __future__ import annotations

from dataclasses import dataclass

from .base import Method


@dataclass
class Config:
    name: str = "full"


class Full(Method):
    Config = Config
    KEEP_FP32_MASTER = True

    def apply(self, model, method_cfg, train_cfg, new_token_ids=()):
        for p in model.parameters():
            p.requires_grad_(True)
        return model


METHOD = Full()
