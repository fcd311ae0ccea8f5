"""Damaged model files found before a library reads them: a download cut short, a full disk, a shard missing.
transformers and safetensors report these as their own errors ("incomplete metadata, file not fully covered")
naming no file; here each is one line naming the file and what is wrong with it.

Written by hand because safetensors checks a file only while loading it, and its error does not name the file.
A safetensors file is 8 bytes of header length, a JSON header whose tensors' ``data_offsets`` cover the data that
follows, and nothing else: 8 + header length + the largest offset end must equal the file's size."""
from __future__ import annotations

import json
import os

from ..errors import ConfigError

JSON_FILES = ("config.json", "tokenizer_config.json", "generation_config.json", "adapter_config.json",
              "model.safetensors.index.json", "adapter_model.safetensors.index.json")
INDEX_SUFFIX = ".safetensors.index.json"


def safetensors_problem(path: str) -> str | None:
    """What is wrong with a safetensors file (a cut header, a cut tensor region, extra bytes), or None."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            return f"cut short: {size} bytes, less than a safetensors header"
        n = int.from_bytes(head, "little")
        if n > size - 8:
            return f"cut short in its header ({size} bytes; the header alone needs {8 + n})"
        try:
            header = json.loads(f.read(n))
        except ValueError:
            return "its safetensors header is not valid JSON"
    if not isinstance(header, dict):
        return "its safetensors header is not a JSON object"
    try:
        end = max((int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"), default=0)
    except (TypeError, KeyError, IndexError, ValueError):
        return "its safetensors header lists a tensor without data_offsets"
    if 8 + n + end != size:
        what = "cut short" if 8 + n + end > size else "longer than its tensors"
        return f"{what}: its tensors need {8 + n + end} bytes, the file has {size}"
    return None


def _json_problem(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        return f"not valid JSON ({err})"
    return None


def check_model_files(folder: str) -> None:
    """Raise ConfigError naming the first damaged file of a model or adapter folder: a JSON file that does not
    parse, a safetensors file cut short (or padded), a sharded index naming a shard that is not there.
    A folder that is not local (a hub id) is left to the loader."""
    if not os.path.isdir(folder):
        return
    names = sorted(os.listdir(folder))
    for name in names:
        path = os.path.join(folder, name)
        problem = None
        if name in JSON_FILES or name.endswith(INDEX_SUFFIX):
            problem = _json_problem(path)
            if problem is None and name.endswith(INDEX_SUFFIX):
                with open(path, encoding="utf-8") as f:
                    shards = sorted(set((json.load(f).get("weight_map") or {}).values()))
                missing = [s for s in shards if not os.path.isfile(os.path.join(folder, s))]
                if missing:
                    problem = (f"names shard {missing[0]}, which is not in the folder "
                               f"({len(missing)} of {len(shards)} missing)")
        elif name.endswith(".safetensors"):
            problem = safetensors_problem(path)
        if problem:
            raise ConfigError(
                f"model file {path}: {problem} (a download cut short or a full disk? fetch or copy it again)"
            )
