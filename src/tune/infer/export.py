"""`tune export checkpoint=DIR out=DIR [export.dtype=auto|bf16|fp16|fp32]`: a standalone safetensors model that
AutoModelForCausalLM loads without tune (LoRA/QLoRA merged into a full-precision base; full/freeze saved as they
are), in the base checkpoint's own dtype unless told otherwise."""
from __future__ import annotations

import json
import os
import shutil
import sys

import torch

from ..precision import torch_dtype
from ..outputs import EXPORT_MARKER, check_replaceable_folder
from ..rundir import RunMeta
from .load import load_trained


def export_dtype(requested: str, meta: RunMeta) -> str:
    """auto: the dtype the base checkpoint is stored in (a bf16 model comes back bf16, not as fp32 at twice the
    size), fp32 where the run does not record it."""
    if requested != "auto":
        return requested
    return meta.base_dtype or "fp32"


def export_model(checkpoint: str, out: str, trust_remote_code: bool = False, dtype: str = "auto") -> str:
    """Refuses (before loading) an ``out`` that holds files tune did not export or the run being read.
    The merge happens in fp32; the result is cast to ``dtype`` once, at the end."""
    check_replaceable_folder(out, "out", EXPORT_MARKER, protected=[checkpoint])
    trained = load_trained(checkpoint, dtype=torch.float32, merge=True, trust_remote_code=trust_remote_code)
    target = export_dtype(dtype, trained.meta)
    print(f"tune: export: weights written in {target}" + (" (the base checkpoint's dtype; export.dtype sets another)"
                                                          if dtype == "auto" else ""), file=sys.stderr)
    model = trained.model.to(torch_dtype(target))
    tmp = out.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    trained.tokenizer.save_pretrained(tmp)
    with open(os.path.join(tmp, EXPORT_MARKER), "w", encoding="utf-8") as f:
        json.dump({"checkpoint": os.path.abspath(checkpoint), "dtype": target}, f)
    if os.path.exists(out):
        shutil.rmtree(out)  # an earlier export (it holds the marker) or an empty folder
    os.replace(tmp, out)
    return out
