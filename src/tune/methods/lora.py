"""LoRA with peft: r, alpha, dropout, target modules (names or all-linear), modules_to_save, DoRA, rsLoRA."""
from __future__ import annotations

import os

from ..errors import ConfigError


def lora_config(method_cfg):
    from peft import LoraConfig, TaskType

    targets = list(method_cfg.target_modules)
    return LoraConfig(task_type=TaskType.CAUSAL_LM, r=method_cfg.r, lora_alpha=method_cfg.alpha,
                      lora_dropout=method_cfg.dropout,
                      target_modules="all-linear" if targets == ["all-linear"] else targets,
                      modules_to_save=list(method_cfg.modules_to_save) or None,
                      use_dora=method_cfg.use_dora, use_rslora=method_cfg.use_rslora)


def attach(model, method_cfg):
    """A fresh LoRA adapter, or the one in method.init_adapter to continue training (Chinese-Vicuna style)."""
    from peft import PeftModel, get_peft_model

    if method_cfg.init_adapter:
        if not os.path.isdir(method_cfg.init_adapter):
            raise ConfigError(f"method.init_adapter: folder {method_cfg.init_adapter!r} not found")
        return PeftModel.from_pretrained(model, method_cfg.init_adapter, is_trainable=True)
    return get_peft_model(model, lora_config(method_cfg))


def apply(model, method_cfg, train_cfg):
    if train_cfg.gradient_checkpointing:
        model.enable_input_require_grads()  # the frozen embeddings must pass gradients to checkpointed blocks
    return attach(model, method_cfg)
