"""Train from a GGUF file (llama.cpp, Ollama, LM Studio): its weights dequantised once into a plain Hugging Face
folder in tune's cache, keyed by the file's hash, so that training, resume, chat and export never need the file
again.

Written by hand because transformers' own GGUF loading stops short of training: what it loads stays marked as
GGUF-quantised (GgufHfQuantizer) even after dequantising, so it cannot be saved and Trainer refuses to fine-tune
it; and its GGUF tokenizer drops the file's ``tokenizer.chat_template``. Here the dequantised tensors are written
as ordinary safetensors with the file's config, tokenizer and chat template (read with gguf.GGUFReader).
"""
from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import json
import os

from ..errors import ConfigError
from ..extras import require
from ..paths import atomic_dir, cache_dir as tune_cache_dir

SOURCE_FILE = "tune_gguf.json"  # in the dequantised folder: the GGUF it came from, hash, weight type, pre-tokenizer
FOLDER_VERSION = 2  # 2: the file's pre-tokenizer restored in tokenizer.json (restore_pre_tokenizer), architectures
# GGUF weight types stored as floats keep their dtype; quantised ones (Q4_1, Q8_0, ...) are written as bf16, the
# dtype the Hugging Face checkpoints they were made from ship in
FLOAT_FILE_TYPES = {"ALL_F32": "float32", "MOSTLY_F16": "float16", "MOSTLY_BF16": "bfloat16"}


def gguf_file_of(path: str) -> str | None:
    """The GGUF file ``path`` names: the file itself, or the one .gguf in a folder without config.json."""
    path = os.path.expanduser(path)
    if path.lower().endswith(".gguf"):
        if not os.path.isfile(path):
            raise ConfigError(f"model.name_or_path: GGUF file {path!r} not found")
        return path
    if os.path.isdir(path) and not os.path.isfile(os.path.join(path, "config.json")):
        found = sorted(glob.glob(os.path.join(path, "*.gguf")))
        if len(found) > 1:
            raise ConfigError(f"model.name_or_path: folder {path!r} holds {len(found)} GGUF files "
                              f"({', '.join(os.path.basename(f) for f in found)}); name one of them")
        if found:
            return found[0]
    return None


def _require_gguf() -> None:
    require("gguf", "model.name_or_path=FILE.gguf")


def file_hash(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def read_metadata(path: str) -> dict:
    """The file's weight type (e.g. MOSTLY_Q4_1), architecture and chat template, from its header."""
    _require_gguf()
    import gguf

    try:
        reader = gguf.GGUFReader(path)
    except Exception as err:  # a truncated or foreign file: the reader's own errors are struct/numpy ones
        raise ConfigError(f"model.name_or_path: {path!r} is not a readable GGUF file ({err})") from None

    def field(name):
        f = reader.fields.get(name)
        return f.contents() if f is not None else None

    file_type = field("general.file_type")
    try:
        type_name = gguf.LlamaFileType(file_type).name if file_type is not None else "unknown"
    except ValueError:
        type_name = f"type {file_type}"
    return {"file_type": type_name, "architecture": field("general.architecture"),
            "chat_template": field("tokenizer.chat_template"), "pre": field("tokenizer.ggml.pre")}


def weight_type_label(file_type: str) -> str:
    """MOSTLY_Q4_1 -> Q4_1, ALL_F32 -> F32."""
    return file_type.split("_", 1)[1] if file_type.startswith(("MOSTLY_", "ALL_")) else file_type


def dequantized_folder(gguf_path: str, cache_dir: str | None = None, log=None) -> str:
    """The cached Hugging Face folder holding ``gguf_path``'s weights (built once, atomically, if missing)."""
    _require_gguf()
    digest = file_hash(gguf_path)
    root = os.path.join(cache_dir or tune_cache_dir(), "gguf")
    final = os.path.join(root, f"{digest[:16]}-{FOLDER_VERSION}")
    if _finished(final):
        return final
    meta = read_metadata(gguf_path)
    if log:
        log(f"tune: model: dequantising {os.path.basename(gguf_path)} ({weight_type_label(meta['file_type'])}) "
            f"into {final} (once; later runs reuse it)")
    with atomic_dir(final, keep_existing=_finished) as tmp:
        _write_folder(gguf_path, tmp, meta)
        with open(os.path.join(tmp, SOURCE_FILE), "w", encoding="utf-8") as f:  # written last: marks it complete
            json.dump({"file": os.path.abspath(gguf_path), "sha256": digest, "file_type": meta["file_type"],
                       "pre": meta["pre"]}, f)
    return final


def _finished(folder: str) -> bool:
    """A dequantised folder is complete once its SOURCE_FILE is in it (written last)."""
    return os.path.isfile(os.path.join(folder, SOURCE_FILE))


def _write_folder(gguf_path: str, out: str, meta: dict) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    folder, name = os.path.split(os.path.abspath(gguf_path))
    dtype = getattr(torch, FLOAT_FILE_TYPES.get(meta["file_type"], "bfloat16"))
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:  # transformers' "Dequantizing ..." lines and its own tqdm bar are noise here: tune's line says it
        with contextlib.redirect_stderr(io.StringIO()):
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except ValueError as err:  # an architecture transformers' GGUF reader does not know
        raise ConfigError(f"model.name_or_path: cannot load {gguf_path!r} ({str(err).splitlines()[0]})") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    config = model.config
    config.__dict__.pop("quantization_config", None)  # a plain model now (see the module docstring)
    config.architectures = [type(model).__name__]  # transformers' GGUF config lacks it; vLLM and llama.cpp read it
    config.dtype = dtype
    state = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
    if getattr(config, "tie_word_embeddings", False):
        state.pop("lm_head.weight", None)  # tied: one tensor, as save_pretrained writes it
    save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    config.save_pretrained(out)
    model.generation_config.save_pretrained(out)
    if meta["chat_template"]:
        tokenizer.chat_template = meta["chat_template"]
    tokenizer.save_pretrained(out)
    restore_pre_tokenizer(os.path.join(out, "tokenizer.json"), meta["pre"])


def restore_pre_tokenizer(tokenizer_json: str, pre: str | None) -> None:
    """transformers rebuilds every byte-level GGUF tokenizer with a plain ByteLevel pre-tokenizer, whatever the
    file's ``tokenizer.ggml.pre`` says (SmolLM2's ``smollm`` splits digits first): put back the splitting the
    model was trained with, so training here tokenises as the model's own tokenizer does (and a GGUF export
    names the same pre-tokenizer)."""
    from .pretokenizers import HF_PRE_TOKENIZERS

    if pre not in HF_PRE_TOKENIZERS:
        return
    with open(tokenizer_json, encoding="utf-8") as f:
        spec = json.load(f)
    if (spec.get("pre_tokenizer") or {}).get("type") != "ByteLevel":
        return  # not the rebuilt byte-level one: leave it
    spec["pre_tokenizer"] = HF_PRE_TOKENIZERS[pre]
    with open(tokenizer_json, "w", encoding="utf-8") as f:
        json.dump(spec, f, ensure_ascii=False)


def gguf_source(folder: str) -> dict | None:
    """What a dequantised folder came from ({file, sha256, file_type}), or None for any other folder."""
    path = os.path.join(folder, SOURCE_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)
