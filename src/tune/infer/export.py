"""`tune export checkpoint=DIR out=DIR`: a standalone safetensors model that AutoModelForCausalLM loads
without tune (LoRA/QLoRA merged into a full-precision base; full/freeze saved as they are)."""
from __future__ import annotations

import json
import os
import shutil

import torch

from ..outputs import EXPORT_MARKER, check_replaceable_folder
from .load import load_trained


def export_model(checkpoint: str, out: str, trust_remote_code: bool = False) -> str:
    """Refuses (before loading) an ``out`` that holds files tune did not export or the run being read."""
    check_replaceable_folder(out, "out", EXPORT_MARKER, protected=[checkpoint])
    trained = load_trained(checkpoint, dtype=torch.float32, merge=True, trust_remote_code=trust_remote_code)
    tmp = out.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    trained.model.save_pretrained(tmp, safe_serialization=True)
    trained.tokenizer.save_pretrained(tmp)
    with open(os.path.join(tmp, EXPORT_MARKER), "w", encoding="utf-8") as f:
        json.dump({"checkpoint": os.path.abspath(checkpoint)}, f)
    if os.path.exists(out):
        shutil.rmtree(out)  # an earlier export (it holds the marker) or an empty folder
    os.replace(tmp, out)
    return out
