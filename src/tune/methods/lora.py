"""LoRA with peft: r, alpha, dropout, target modules (names or all-linear), modules_to_save, DoRA, rsLoRA."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import List, Optional

from ..errors import ConfigError
from .base import Method


@dataclass
class Config:
    name: str = "lora"
    r: int = 8                                # LoRA rank
    alpha: int = 16                           # scaling: alpha / r
    dropout: float = 0.05                     # dropout on the LoRA input
    target_modules: List[str] = field(default_factory=lambda: ["q_proj", "v_proj"])  # or ["all-linear"]
    modules_to_save: List[str] = field(default_factory=list)  # modules trained whole and saved with the adapter
    init_adapter: Optional[str] = None        # continue training from this LoRA adapter folder
    use_dora: bool = False                    # weight-decomposed LoRA (DoRA)
    use_rslora: bool = False                  # rank-stabilised scaling alpha / sqrt(r)


def lora_config(method_cfg, trainable_tokens: dict | None = None):
    from peft import LoraConfig, TaskType

    targets = list(method_cfg.target_modules)
    return LoraConfig(task_type=TaskType.CAUSAL_LM, r=method_cfg.r, lora_alpha=method_cfg.alpha,
                      lora_dropout=method_cfg.dropout,
                      target_modules="all-linear" if targets == ["all-linear"] else targets,
                      modules_to_save=list(method_cfg.modules_to_save) or None,
                      use_dora=method_cfg.use_dora, use_rslora=method_cfg.use_rslora,
                      trainable_token_indices=trainable_tokens or None)


def check_target_modules(model, targets: list[str]) -> None:
    """Every named target must be a module of the model (peft's own error names no alternative): one line listing
    the model's linear layer names."""
    import torch

    if targets == ["all-linear"]:
        return
    names = {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if n}
    missing = [t for t in targets if t not in names]
    if missing:
        linear = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
        raise ConfigError(f"method.target_modules: {', '.join(missing)} not in this model (its linear layers: "
                          f"{', '.join(linear)}; or [all-linear])")


def attach(model, method_cfg, new_token_ids=()):
    """A fresh LoRA adapter, or the one in method.init_adapter to continue training (Chinese-Vicuna style).

    Rows of tokens added for the template train too, in the input embeddings and an untied LM head (peft's
    trainable tokens), or the model could never emit a new stop token."""
    from peft import PeftModel, get_peft_model

    from ..models.vocab import embedding_module_names
    from ..models.lora_dropout import use_cpu_dropout

    if method_cfg.init_adapter:
        if not os.path.isdir(method_cfg.init_adapter):
            raise ConfigError(f"method.init_adapter: folder {method_cfg.init_adapter!r} not found")
        model = PeftModel.from_pretrained(model, method_cfg.init_adapter, is_trainable=True)
        use_cpu_dropout(model)
        return model
    check_target_modules(model, list(method_cfg.target_modules))
    trainable = {name: list(new_token_ids) for name in embedding_module_names(model)} if new_token_ids else None
    model = get_peft_model(model, lora_config(method_cfg, trainable))
    use_cpu_dropout(model)
    if trainable:
        # peft would save the whole resized embedding matrices (GBs at 7B); the trainable tokens already hold
        # every new row, and a reload grows the base the same way (infer/load.py), so the adapter stays small
        model.save_pretrained = functools.partial(model.save_pretrained, save_embedding_layers=False)
    return model


class Lora(Method):
    """LoRA works under every DeepSpeed stage, with checkpointing and added tokens."""
    Config = Config
    ADAPTER = True
    # the adapter's shapes: another rank, target or saved module would not fit its weights or optimiser state
    UNUSABLE_IF_CHANGED = ("r", "target_modules", "modules_to_save", "use_dora", "init_adapter")

    def check_values(self, method_cfg) -> None:
        if method_cfg.r is not None and method_cfg.r < 1:
            raise ConfigError(f"method.r={method_cfg.r}: a LoRA rank is 1 or more")

    def apply(self, model, method_cfg, train_cfg, new_token_ids=()):
        if train_cfg.gradient_checkpointing:
            model.enable_input_require_grads()  # the frozen embeddings must pass gradients to checkpointed blocks
        return attach(model, method_cfg, new_token_ids)


METHOD = Lora()
