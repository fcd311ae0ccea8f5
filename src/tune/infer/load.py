"""Load what `tune train` saved (the final model folder, its output folder, or a checkpoint-N folder)
with the template it was trained with."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from ..rundir import META, RunDir, RunMeta, run_meta
from ..data.templates import get_template
from ..errors import ConfigError
from ..methods import get_method
from ..models.integrity import check_model_files
from ..models.load import load_causal_lm, load_tokenizer_from
from ..precision import torch_dtype
from ..models.vocab import grow_embeddings, set_generation_stops


@dataclass
class Trained:
    model: Any
    tokenizer: Any
    renderer: Any
    meta: RunMeta
    path: str


def find_model_dir(checkpoint: str) -> tuple[str, RunMeta]:
    """The folder holding weights and the tune metadata for it (read from tune.json or the run's config.yaml)."""
    if not checkpoint:
        raise ConfigError("checkpoint: not set (checkpoint=DIR: a training output folder or its model/ folder)")
    if not os.path.isdir(checkpoint):
        raise ConfigError(f"checkpoint: folder {checkpoint!r} not found")
    if RunDir(checkpoint).recover_final_dir():  # a run killed between the two renames of its final save
        print(f"tune: {checkpoint}: completed the final save a killed run left half-renamed", file=sys.stderr)
    for d in (RunDir(checkpoint).model, checkpoint):
        if os.path.isfile(os.path.join(d, META)):
            return d, RunMeta.read(d)
    run_config = RunDir(os.path.dirname(os.path.abspath(checkpoint))).config
    if os.path.isfile(run_config):  # a checkpoint-N folder inside a run
        from omegaconf import OmegaConf

        return checkpoint, run_meta(OmegaConf.load(run_config))
    raise ConfigError(f"checkpoint: {checkpoint!r} holds no tune model (no tune.json, no run config.yaml)")


def _attn_implementation(meta: RunMeta):
    return meta.config_value("model", "attn_implementation")


def load_base(meta: RunMeta, dtype, remote: bool, dequantize: bool, tokenizer=None):
    """The base an adapter was trained on, loaded the way its method loads it: a quantised base (QLoRA, P-Tuning
    on a 4-bit base) comes back with the same quantised weights (dequantised for a merge, so the merged model
    computes what the trained one did), otherwise the base as saved."""
    import torch
    from omegaconf import OmegaConf

    method = get_method(meta.method)
    method_cfg = OmegaConf.create(meta.config["method"])
    kwargs = method.load_kwargs(method_cfg, dtype or torch.float32)
    base = load_causal_lm(meta.base_model, dtype, remote, _attn_implementation(meta), **kwargs)
    if tokenizer is not None:  # control tokens added in training: the adapter holds their trained rows
        grow_embeddings(base, len(tokenizer))
    if method.quantization_bits(method_cfg):
        return base.dequantize() if dequantize else method.prepare_base(base, method_cfg)
    return base


def run_precision(meta: RunMeta) -> str:
    """The precision the run trained in (tune.json records it; fp32, which serves any run, for runs before that)."""
    return meta.precision or "fp32"


def restore_base(meta: RunMeta) -> None:
    """A base dequantised from GGUF whose cached folder was cleared is rebuilt from the GGUF file the run was given,
    after checking it is still that file (its sha256); ConfigError naming the file when it is gone or changed."""
    source = meta.base_gguf
    if not source or os.path.isdir(meta.base_model):
        return
    from ..models.gguf import dequantized_folder, file_hash

    gguf = source["file"]
    cleared = f"the run's base was dequantised from {gguf} into {meta.base_model}, which was cleared"
    if not os.path.isfile(gguf):
        raise ConfigError(f"checkpoint: {cleared}, and {gguf} is gone; put that file back to rebuild it")
    if file_hash(gguf) != source["sha256"]:
        raise ConfigError(f"checkpoint: {cleared}, and {gguf} is now another file (sha256 {file_hash(gguf)[:16]}, the "
                          f"run trained on {source['sha256'][:16]}); put the original back to rebuild it")
    meta.base_model = dequantized_folder(gguf, log=lambda m: print(m, file=sys.stderr))


def tokenizer_dir(path: str, meta: RunMeta) -> str:
    """Where a saved run's tokenizer loads from: its model folder ``path`` when the run saved one there (with the
    template's control tokens), else the base model's."""
    return path if os.path.isfile(os.path.join(path, "tokenizer_config.json")) else meta.base_model


def load_trained(checkpoint: str, dtype=None, merge: bool = False, trust_remote_code: bool = False) -> Trained:
    """Model (adapter applied, or merged when merge=True), tokenizer and the training renderer.

    ``trust_remote_code`` is the caller's own grant (the command line's model.trust_remote_code): a saved run never
    grants it to itself, since a run folder received from someone else would then execute its auto_map code."""
    path, meta = find_model_dir(checkpoint)
    if dtype is None:  # serve in the dtype the run computed in, never in whatever the base checkpoint stores
        dtype = torch_dtype(run_precision(meta))
    restore_base(meta)
    needs_remote = bool(meta.config_value("model", "trust_remote_code", default=False))
    if needs_remote and not trust_remote_code:
        raise ConfigError(
            f"checkpoint: {checkpoint!r} was trained with model.trust_remote_code=true, so loading it runs "
            f"Python code from {meta.base_model!r} and the run folder; add "
            "model.trust_remote_code=true if you trust them"
        )
    remote = needs_remote and trust_remote_code
    tokenizer = load_tokenizer_from(tokenizer_dir(path, meta), remote)
    if meta.adapter:
        from peft import PeftModel

        check_model_files(path)  # the adapter's own files, before the base takes minutes to load
        refusal = get_method(meta.method).MERGE_REFUSAL if merge else None
        if refusal:  # before the base loads
            raise ConfigError(f"method={meta.method}: {refusal}")
        base = load_base(meta, dtype, remote, dequantize=merge, tokenizer=tokenizer)
        model = PeftModel.from_pretrained(base, path)
        if merge:
            model = model.merge_and_unload()
    else:
        model = load_causal_lm(path, dtype, remote, _attn_implementation(meta))
    model.eval()
    model.config.use_cache = True
    renderer = get_template(meta.template, tokenizer)
    # runs saved before generation configs carried the template's stops get them here (export writes them)
    set_generation_stops(getattr(model, "get_base_model", lambda: model)(), tokenizer, renderer.stop_strings)
    return Trained(model, tokenizer, renderer, meta, path)
