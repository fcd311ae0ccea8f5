"""QLoRA: a 4-bit (nf4/fp4, double-quantised) base from bitsandbytes, k-bit preparation, LoRA on top."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List

from ..choices import Choice, choices
from ..errors import ConfigError
from ..precision import Precision, torch_dtype
from ..models.quantize import quantized_base
from . import lora

if TYPE_CHECKING:  # members made at run time (choices.py); a type checker sees the common base
    QuantType = Choice
else:
    QuantType = choices("QuantType", ["nf4", "fp4"], __name__)


@dataclass
class Config(lora.Config):
    name: str = "qlora"
    target_modules: List[str] = field(default_factory=lambda: ["all-linear"])
    quant_type: QuantType = QuantType("nf4")
    double_quant: bool = True
    compute_dtype: Precision = Precision.auto  # auto: the training precision


class Qlora(lora.Lora):
    Config = Config

    def check(self, cfg) -> None:
        if cfg.deepspeed.name != "none":
            raise ConfigError("method=qlora with deepspeed: 4-bit bitsandbytes weights cannot be sharded by ZeRO "
                              "here; use deepspeed=none (QLoRA fits one GPU) or method=lora")

    def quantization_bits(self, method_cfg) -> int:
        return 4

    def load_kwargs(self, method_cfg, compute_dtype) -> dict:
        dtype = compute_dtype if method_cfg.compute_dtype == "auto" else torch_dtype(method_cfg.compute_dtype)
        return quantized_base(self.name, 4, dtype, method_cfg.quant_type, method_cfg.double_quant)

    def apply(self, model, method_cfg, train_cfg, new_token_ids=()):
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            self.prepare_base(model, method_cfg), use_gradient_checkpointing=train_cfg.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False})
        return lora.attach(model, method_cfg, new_token_ids)


METHOD = Qlora()
