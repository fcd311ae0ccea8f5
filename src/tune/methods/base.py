"""What a fine-tuning method is: everything tune needs to know about it, in one class (one module per method).

Callers ask the method and never compare its name: whether it saves a model or an adapter, how its base loads
(quantised or not, in which dtype), which of its fields make a checkpoint unusable when changed, whether
activation checkpointing and merging work with it, what to refuse up front, and how to make a model trainable.
"""
from __future__ import annotations

from typing import ClassVar


class Method:
    Config: ClassVar[type]                  # its structured config (a dataclass; ``name`` first)
    ADAPTER: ClassVar[bool] = False         # saved as a peft adapter on an unchanged base (else the whole model)
    KEEP_FP32_MASTER: ClassVar[bool] = False  # loads in fp32, mixed precision in autocast (full, freeze)
    MERGE_REFUSAL: ClassVar[str] = ""       # why `tune export` cannot merge it ('' when it can)
    CHECKPOINTING: ClassVar[bool] = True    # activation checkpointing works with it
    # its fields whose change makes a checkpoint unusable (the weights, adapter or optimiser state it holds
    # would not fit), checked when a run resumes
    UNUSABLE_IF_CHANGED: ClassVar[tuple[str, ...]] = ()

    @property
    def name(self) -> str:
        return self.Config().name

    @property
    def summary(self) -> str:
        """Its module's docstring (`tune list methods` prints the first sentence)."""
        import sys
        return sys.modules[type(self).__module__].__doc__ or ""

    # -- checks --------------------------------------------------------------------------------------------
    def check_values(self, method_cfg) -> None:
        """Values of its own fields that type-check but cannot train (at compose time): ConfigError."""

    def check(self, cfg) -> None:
        """Combinations with the rest of the config known not to work, refused before anything loads."""

    def check_new_tokens(self, cfg, new_token_ids) -> None:
        """Whether it can train the rows of control tokens the template adds to the tokenizer."""

    # -- the base ------------------------------------------------------------------------------------------
    def quantization_bits(self, method_cfg) -> int:
        """4 or 8 when its frozen base loads quantised by bitsandbytes, else 0."""
        return 0

    def load_kwargs(self, method_cfg, compute_dtype) -> dict:
        """from_pretrained kwargs for its base, in training and when a saved run reloads."""
        bits = self.quantization_bits(method_cfg)
        if not bits:
            return {}
        from ..models.quantize import quantized_base
        return quantized_base(self.name, bits, compute_dtype, getattr(method_cfg, "quant_type", "nf4"),
                              getattr(method_cfg, "double_quant", True))

    def prepare_base(self, model, method_cfg):
        """The loaded base, ready for training or serving (a quantised base gets bitsandbytes' CPU workaround)."""
        if self.quantization_bits(method_cfg) == 4:
            from ..models.quantize import disable_cpu_bf16_repack
            disable_cpu_bf16_repack(model)
        return model

    def describe(self, method_cfg, held: str) -> str:
        """How the weights are held, for the start line (``held``: the dtype the base loads in)."""
        if self.KEEP_FP32_MASTER:
            return "weights held in fp32 (master copy)"
        if self.quantization_bits(method_cfg):
            return (f"frozen base quantised by bitsandbytes ({self.quantization_bits(method_cfg)}-bit; its other "
                    f"weights {held}), adapter weights fp32")
        return f"frozen base held in {held}, adapter weights fp32"

    # -- training --------------------------------------------------------------------------------------------
    def apply(self, model, method_cfg, train_cfg, new_token_ids=()):
        """The trainable model (``train_cfg.gradient_checkpointing`` is resolved to a boolean by then)."""
        raise NotImplementedError

    def initialise(self, model, method_cfg, tokenizer) -> str | None:
        """Set the new trainable weights of a fresh run from the model itself, where their library's default
        would harm it (a resumed run loads its checkpoint's over them); a few words for the log, or None."""
        return None
