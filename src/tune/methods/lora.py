"""LoRA with peft: r, alpha, dropout, target modules (names or all-linear), modules_to_save, DoRA, rsLoRA."""
from __future__ import annotations


def lora_config(method_cfg):
    from peft import LoraConfig, TaskType

    targets = list(method_cfg.target_modules)
    return LoraConfig(task_type=TaskType.CAUSAL_LM, r=method_cfg.r, lora_alpha=method_cfg.alpha,
                      lora_dropout=method_cfg.dropout,
                      target_modules="all-linear" if targets == ["all-linear"] else targets,
                      modules_to_save=list(method_cfg.modules_to_save) or None,
                      use_dora=method_cfg.use_dora, use_rslora=method_cfg.use_rslora)


def apply(model, method_cfg, train_cfg):
    from peft import get_peft_model

    if train_cfg.gradient_checkpointing:
        model.enable_input_require_grads()  # the frozen embeddings must pass gradients to checkpointed blocks
    return get_peft_model(model, lora_config(method_cfg))
