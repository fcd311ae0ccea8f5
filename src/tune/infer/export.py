"""`tune export checkpoint=DIR out=DIR`: a standalone safetensors model that AutoModelForCausalLM loads
without tune (LoRA/QLoRA merged into a full-precision base; full/freeze saved as they are)."""
from __future__ import annotations

import os
import shutil

import torch

from .load import load_trained


def export_model(checkpoint: str, out: str) -> str:
    trained = load_trained(checkpoint, dtype=torch.float32, merge=True)
    tmp = out.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    trained.model.save_pretrained(tmp, safe_serialization=True)
    trained.tokenizer.save_pretrained(tmp)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out
