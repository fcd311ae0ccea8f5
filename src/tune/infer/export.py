"""`tune export checkpoint=DIR out=DIR [export.FIELD=...]`: the trained model merged once (in fp32) and written
in every format the export asks for (exports/: the safetensors folder always, the others beside it), into a
folder that replaces ``out`` only when all of them are written."""
from __future__ import annotations

import json
import os
import sys

import torch

from ..errors import ConfigError
from ..exports import formats
from ..extras import require
from ..outputs import EXPORT_MARKER, check_replaceable_folder
from ..paths import atomic_dir
from .load import find_model_dir, load_trained, tokenizer_dir


def export_model(options, trust_remote_code: bool = False) -> str:
    """``options``: the export config (checkpoint, out and every format's fields). Refuses (before loading) an
    ``out`` that holds files tune did not export or the run being read, and what a wanted format cannot hold."""
    checkpoint, out = options.checkpoint, options.out
    if not out:
        raise ConfigError("out: not set (tune export checkpoint=DIR out=DIR)")
    check_replaceable_folder(out, "out", EXPORT_MARKER, protected=[checkpoint])
    wanted = [fmt for fmt in formats().values() if fmt.wanted(options)]
    model_dir, meta = find_model_dir(checkpoint)
    for fmt in wanted:
        if fmt.EXTRA:
            require(fmt.EXTRA, f"export.{fmt.name}")
        fmt.check(meta, options, tokenizer_dir(model_dir, meta))
    trained = load_trained(checkpoint, dtype=torch.float32, merge=True, trust_remote_code=trust_remote_code)
    written = {}
    with atomic_dir(out) as tmp:
        for fmt in wanted:
            written[fmt.name] = fmt.write(trained, tmp, options)
            print(f"tune: export: {written[fmt.name]}", file=sys.stderr)
        with open(os.path.join(tmp, EXPORT_MARKER), "w", encoding="utf-8") as f:  # tune wrote this folder
            json.dump({"checkpoint": os.path.abspath(checkpoint), "written": written}, f, ensure_ascii=False)
    return out
