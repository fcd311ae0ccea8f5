"""The layout of what `tune train` saves, shared by the trainer that writes it and the tools that read it."""
from __future__ import annotations

import os

FINAL_DIR = "model"        # output_dir/model: the final model or adapter, tokenizer and TUNE_META
TUNE_META = "tune.json"    # method, template, base model, whether it is an adapter, the resolved config


def recover_final_dir(output_dir: str) -> bool:
    """Finish a final save cut short between its renames (train/checkpoints.replace_dir_atomically): with no
    ``model/``, a complete ``.model.tmp`` (it holds TUNE_META, written last) becomes it, else ``model.old`` does.
    True if it recovered one."""
    final = os.path.join(output_dir, FINAL_DIR)
    if os.path.exists(final):
        return False
    tmp, old = os.path.join(output_dir, f".{FINAL_DIR}.tmp"), final + ".old"
    for candidate in (tmp, old):
        if os.path.isfile(os.path.join(candidate, TUNE_META)):
            os.replace(candidate, final)
            return True
    return False


def run_meta(cfg, added_tokens=(), base_model: str | None = None, precision: str | None = None) -> dict:
    """The TUNE_META contents for a resolved training config (an OmegaConf DictConfig); ``base_model``: the
    model's resolved folder, ``precision``: the resolved training precision, when the caller has them.

    ``base_dtype`` is the dtype the base checkpoint is stored in (tune export writes that back by default);
    ``base_gguf`` the GGUF file this run was given (its absolute path and sha256; the cached folder's own record
    names whichever file first filled it, which may since have moved or gone)."""
    from omegaconf import OmegaConf

    from .methods import get_method
    from .models.gguf import gguf_file_of, gguf_source
    from .models.load import checkpoint_dtype, resolve_model_path

    base = base_model or resolve_model_path(cfg.model)
    meta = {"method": cfg.method.name, "template": cfg.template.name, "base_model": base,
            "base_dtype": checkpoint_dtype(base), "precision": precision,
            "adapter": get_method(cfg.method.name).ADAPTER, "added_tokens": list(added_tokens),
            "config": OmegaConf.to_container(cfg, resolve=True)}
    source = gguf_source(base)
    given = gguf_file_of(cfg.model.name_or_path) if cfg.model.name_or_path else None
    if source and given:
        meta["base_gguf"] = {**source, "file": os.path.abspath(given)}
    return meta
