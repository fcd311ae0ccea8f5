"""P-Tuning v2 as in ChatGLM-6B: peft PrefixTuning, trained key/value prefixes for every layer,
optionally through a two-layer MLP encoder (prefix_projection)."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from .base import Method

NEUTRAL_TEXT = "The following is a conversation between a user and an assistant. "


@dataclass
class Config:
    name: str = "ptuning_v2"
    num_virtual_tokens: int = 128             # prefix length (ChatGLM's PRE_SEQ_LEN)
    prefix_projection: bool = False           # an MLP re-parameterises the prefix (P-Tuning v2's projection)
    encoder_hidden_size: int = 0              # 0: the model's hidden size
    quantization_bit: int = 0                 # 4 or 8: load the frozen base quantised (bitsandbytes)


class PTuningV2(Method):
    Config = Config
    ADAPTER = True
    # peft's prefix key/values break under activation checkpointing (a shape error deep in attention)
    CHECKPOINTING = False
    MERGE_REFUSAL = ("prefix tuning adds key/value prefixes, not weight deltas, so it cannot be merged; load the "
                     "adapter with peft.PeftModel.from_pretrained")
    # the prefix's shapes (and its MLP's): another length or encoder would not fit the adapter or optimiser state
    UNUSABLE_IF_CHANGED = ("num_virtual_tokens", "prefix_projection", "encoder_hidden_size")

    def check_values(self, method_cfg) -> None:
        if method_cfg.quantization_bit not in (0, 4, 8):
            raise ConfigError(f"method.quantization_bit: {method_cfg.quantization_bit} is not one of 0, 4, 8")

    def check(self, cfg) -> None:
        if cfg.deepspeed.name.startswith("zero3"):
            raise ConfigError("method=ptuning_v2 with ZeRO-3: peft prefix tuning needs the full model config at "
                              "init; use deepspeed=zero2 or none")
        if cfg.trainer.gradient_checkpointing is True:  # auto resolves to off (CHECKPOINTING, train/memory.py)
            raise ConfigError("method=ptuning_v2 does not work with trainer.gradient_checkpointing=true "
                              "(peft prefix tuning); set trainer.gradient_checkpointing=false")

    def check_new_tokens(self, cfg, new_token_ids) -> None:
        if new_token_ids:
            raise ConfigError("method=ptuning_v2 cannot train the embedding rows of the control tokens the template "
                              "adds to this tokenizer; pick a template the tokenizer has tokens for, or method=lora")

    def quantization_bits(self, method_cfg) -> int:
        """ChatGLM-6B's P-Tuning v2 runs on a 4-bit base (quantization_bit 4): the base is frozen, so quantising it
        costs nothing in quality of the trained prefix and cuts memory to ~7 GB for 6B parameters."""
        return method_cfg.quantization_bit

    def apply(self, model, method_cfg, train_cfg, new_token_ids=()):
        from peft import PrefixTuningConfig, TaskType, get_peft_model

        config = PrefixTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=method_cfg.num_virtual_tokens,
                                    prefix_projection=method_cfg.prefix_projection,
                                    encoder_hidden_size=method_cfg.encoder_hidden_size or model.config.hidden_size)
        return get_peft_model(self.prepare_base(model, method_cfg), config)

    def initialise(self, model, method_cfg, tokenizer) -> str | None:
        """The prefix starts as the model's own keys and values of a neutral text (Li and Liang's prefix-tuning
        initialises from real words' activations), not peft's N(0, 1) embedding: 128 random key/value positions
        in every layer swamp attention (SmolLM2's loss 2.1 -> 13.1 before the first step; from real text 1.4).
        Written by hand because peft offers only random or zero (zero still doubles that loss) for a prefix."""
        if method_cfg.prefix_projection:  # an MLP produces the prefix: its own initialisation stands
            return None
        import torch

        n = method_cfg.num_virtual_tokens
        text = NEUTRAL_TEXT
        while len(ids := tokenizer(text, add_special_tokens=False)["input_ids"]) < n:  # a token per virtual token
            text += text
        ids = ids[:n]
        base = model.get_base_model()
        embedding = model.prompt_encoder[model.active_adapter].embedding
        device = embedding.weight.device
        was_training = base.training
        base.eval()
        with torch.no_grad():
            cache = base(input_ids=torch.tensor([ids], device=device), use_cache=True).past_key_values
            # peft reads each virtual token's row as [layer 0 keys, layer 0 values, layer 1 keys, ...], each
            # (kv heads x head dim); the cache holds (batch, kv heads, tokens, head dim) per layer
            rows = [t[0].permute(1, 0, 2).reshape(n, -1) for layer in cache.layers for t in (layer.keys, layer.values)]
            embedding.weight.copy_(torch.cat(rows, dim=1).to(embedding.weight.dtype))
        base.train(was_training)
        return f"prefix initialised from the model's own keys and values of {n} tokens of text"


METHOD = PTuningV2()
