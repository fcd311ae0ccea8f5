"""The merged model as a standalone safetensors folder that AutoModelForCausalLM loads without tune (and vLLM
serves): LoRA/QLoRA merged into a full-precision base, full/freeze saved as they are, in the base checkpoint's
own dtype unless ``export.dtype`` says otherwise, with the tokenizer and the training chat template."""
from __future__ import annotations

from dataclasses import dataclass

from ..precision import Precision, torch_dtype
from .base import ExportFormat


@dataclass
class SafetensorsOptions:
    dtype: Precision = Precision.auto         # the weights' dtype: auto (the base checkpoint's) | bf16 | fp16 | fp32


def export_dtype(requested: str, meta) -> str:
    """auto: the dtype the base checkpoint is stored in (a bf16 model comes back bf16, not as fp32 at twice the
    size), fp32 where the run does not record it."""
    if requested != "auto":
        return requested
    return meta.base_dtype or "fp32"


class Safetensors(ExportFormat):
    name = "safetensors"
    Options = SafetensorsOptions

    def write(self, trained, out: str, options) -> str:
        target = export_dtype(str(options.dtype), trained.meta)
        # cast in place, not a copy (a 7B merge is 28 GB in fp32): the registry writes this format last
        trained.model.to(torch_dtype(target)).save_pretrained(out, safe_serialization=True)
        trained.tokenizer.save_pretrained(out)
        why = " (the base checkpoint's dtype; export.dtype sets another)" if str(options.dtype) == "auto" else ""
        return f"safetensors in {target}{why}"


FORMAT = Safetensors()
