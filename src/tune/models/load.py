"""Load a tokenizer and a causal LM from the tiny default, a local folder, or a hub id."""
from __future__ import annotations

import json
import os
import sys

from ..errors import ConfigError
from ..precision import precision_name
from .gguf import dequantized_folder, gguf_file_of, gguf_source, weight_type_label
from .integrity import check_model_files
from .tiny import tiny_model_dir

# Set by the command layer's quieting (cli/noise.py), read here where models load: importing transformers there
# would cost every command half a second, config errors included, so the choice travels in the environment (to
# launched ranks too).
LOADING_BARS_OFF = "TUNE_TRANSFORMERS_BARS_OFF"


def _log(msg: str) -> None:
    from ..distributed import is_main_process

    if is_main_process():
        print(msg, file=sys.stderr, flush=True)


def resolve_model_path(model_cfg) -> str:
    """model.name_or_path, or the cached tiny model (built if needed) when it is unset/'tiny'."""
    path = model_cfg.name_or_path
    if not path or path == "tiny":
        t = model_cfg.tiny
        return tiny_model_dir(hidden_size=t.hidden_size, num_layers=t.num_layers, num_heads=t.num_heads,
                              num_kv_heads=t.num_kv_heads, intermediate_size=t.intermediate_size,
                              vocab_size=t.vocab_size, seed=t.seed)
    gguf_path = gguf_file_of(path)
    if gguf_path:
        return dequantized_folder(gguf_path, log=_log)
    if os.path.isdir(os.path.expanduser(path)):
        return os.path.expanduser(path)
    if path.startswith((".", "/", "~")) or path.count("/") > 1 or os.path.exists(path):
        raise ConfigError(
            f"model.name_or_path: folder {path!r} not found (give a Hugging Face model folder or a hub id)"
        )
    return path  # a hub id; loading fails with a clear line when no hub is reachable


TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "vocab.json", "spiece.model")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".safetensors.index.json", ".bin.index.json")


def _listing(path: str, limit: int = 8) -> str:
    names = sorted(os.listdir(path))
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def load_tokenizer(model_cfg, path: str | None = None):
    """The tokenizer of model_cfg's model (``path``: that model's resolved folder, when the caller has it)."""
    return load_tokenizer_from(path or resolve_model_path(model_cfg), model_cfg.trust_remote_code)


def load_tokenizer_from(path: str, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    if os.path.isdir(path) and not os.listdir(path):
        raise ConfigError(
            f"model.name_or_path: folder {path!r} is empty (give a Hugging Face model folder: config.json, "
            "weights and tokenizer files)"
        )
    if os.path.isdir(path) and not any(os.path.isfile(os.path.join(path, f)) for f in TOKENIZER_FILES):
        raise ConfigError(
            f"model.name_or_path: folder {path!r} holds no tokenizer files (one of "
            f"{', '.join(TOKENIZER_FILES)}; it has {_listing(path)})"
        )
    check_model_files(path)  # AutoTokenizer reads config.json first: a damaged one would be blamed on the tokenizer
    try:
        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"model.name_or_path: cannot load a tokenizer from {path!r} ({str(err).strip().splitlines()[0]})"
        ) from None
    if tok.pad_token is None:  # Llama-style tokenizers ship without one; batches need it
        tok.pad_token = tok.eos_token
    return tok


def load_model(model_cfg, torch_dtype=None, path: str | None = None, **kwargs):
    """model_cfg's causal LM (``path``: its resolved folder, when the caller has it); kwargs go to
    from_pretrained (quantization_config...)."""
    return load_causal_lm(
        path or resolve_model_path(model_cfg),
        torch_dtype,
        model_cfg.trust_remote_code,
        model_cfg.attn_implementation,
        **kwargs,
    )


def quiet_loading_bars() -> None:
    """transformers' "Loading weights" / "Writing model shards" bars off when the command line quieted libraries
    (noise.py sets the variable; debug=true keeps them). Its flag is global: saves after this load are quiet too."""
    if os.environ.get(LOADING_BARS_OFF) == "1":
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


def load_causal_lm(path: str, torch_dtype=None, trust_remote_code: bool = False, attn_implementation=None, **kwargs):
    """The one loader of causal LMs, for training and for reloading what training saved."""
    from transformers import AutoModelForCausalLM

    quiet_loading_bars()
    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    if os.path.isdir(path) and not any(f.endswith(WEIGHT_SUFFIXES) for f in os.listdir(path)):
        raise ConfigError(
            f"model.name_or_path: folder {path!r} holds no weights (model.safetensors, "
            f"pytorch_model.bin or their sharded index; it has {_listing(path)})"
        )
    check_model_files(path)
    try:
        return AutoModelForCausalLM.from_pretrained(
            path, dtype=torch_dtype, trust_remote_code=trust_remote_code, **extra, **kwargs
        )
    except OSError as err:
        raise ConfigError(
            f"model.name_or_path: cannot load a model from {path!r} ({str(err).splitlines()[0]})"
        ) from None


def _config_json(path: str) -> dict:
    """A model folder's config.json as a dict; empty when it cannot be read (loading the model says why)."""
    try:
        with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def checkpoint_dtype(path: str) -> str | None:
    """The dtype a model folder's weights are stored in (config.json's dtype, or torch_dtype before transformers
    5), as a precision name: bf16 / fp16 / fp32; None when the folder does not say."""
    config = _config_json(path)
    return precision_name(config.get("dtype") or config.get("torch_dtype") or "")


def hidden_size(path: str) -> int | None:
    """The model's hidden width from its config.json (a multimodal model's text config), before it loads."""
    config = _config_json(path)
    text = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    width = text.get("hidden_size") or text.get("n_embd") or text.get("d_model")
    return width if isinstance(width, int) else None


def describe_source(path: str, given: str | None = None) -> str:
    """Where a resolved model folder's weights come from, for the start line: the GGUF file the user gave
    (``given``, model.name_or_path) they were dequantised from, so nobody mistakes them for the original; or the
    folder itself. The cached folder's own record names whichever identical file first filled it."""
    source = gguf_source(path)
    gguf = gguf_file_of(given) if given else None
    if source and gguf:
        return f"{path}, weights dequantised from {weight_type_label(source['file_type'])} GGUF {os.path.abspath(gguf)}"
    return path
