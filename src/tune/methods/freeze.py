"""Freeze tuning: only the last N decoder layers train (optionally the embeddings and the LM head)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError
from .base import Method

_LAYER = re.compile(r"\.(?:layers|h|blocks|layer)\.(\d+)\.")


@dataclass
class Config:
    name: str = "freeze"
    trainable_layers: int = 2                 # the last N decoder layers train
    train_embeddings: bool = False            # also train the input embeddings
    train_lm_head: bool = False               # also train the LM head


class Freeze(Method):
    Config = Config
    KEEP_FP32_MASTER = True
    # which parameters train: another set would not fit the resumed optimiser state
    UNUSABLE_IF_CHANGED = ("trainable_layers", "train_embeddings", "train_lm_head")

    def apply(self, model, method_cfg, train_cfg, new_token_ids=()):
        indices = {int(m.group(1)) for name, _ in model.named_parameters() if (m := _LAYER.search(name))}
        if not indices:
            raise ConfigError(
                "method=freeze: cannot find the decoder layers of this model (no '.layers.N.' parameters)"
            )
        n = method_cfg.trainable_layers
        if not 0 < n <= len(indices):
            raise ConfigError(f"method.trainable_layers: {n} is not between 1 and the model's {len(indices)} layers")
        keep = set(sorted(indices)[-n:])
        for name, p in model.named_parameters():
            m = _LAYER.search(name)
            p.requires_grad_(bool(m and int(m.group(1)) in keep))
        # tokens added for the template need trainable rows: the embeddings and LM head train with them
        if method_cfg.train_embeddings or new_token_ids:
            model.get_input_embeddings().weight.requires_grad_(True)
        if (method_cfg.train_lm_head or new_token_ids) and model.get_output_embeddings() is not None:
            model.get_output_embeddings().weight.requires_grad_(True)
        return model


METHOD = Freeze()
