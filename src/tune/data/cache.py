"""A cache of tokenised datasets: a second run on the same data, format, template, tokenizer and max_length
reads Arrow files instead of tokenising again, and prints the same data summary the first run printed.

The key hashes everything that decides the tokens and the examples' columns: each source file's path and bytes
(not its mtime: a touched file is the same data; a copy at another path is another entry, because every cached
example carries its ``source`` path), every data config field except those in NOT_IN_KEY, the tokenizer's full
serialised state (vocabulary, merges, normaliser and added tokens), the renderer's own fingerprint (a named
template's definition, or the tokenizer's Jinja chat_template), and tune's own data code (a new tune version
that tokenises differently never reads an old entry).

An entry that would hold no usable example is never written (``save`` refuses it): a failed run then fails the
same way the next time by the same path, summary and error line included, instead of reading back an empty
entry through a second path that has to reproduce the first one's outcome. Written under a temporary name and
renamed, so a killed run leaves no half entry; with several ranks the main process writes and the others
read after it (distributed.main_process_first). datasets' own map cache is not used: its fingerprint
dill-hashes the tokenizer (seconds for a 150k vocabulary) and cannot see the source files' bytes.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from ..paths import atomic_dir, cache_dir
from .config import DataConfig
from .reading import expand_paths
from .summary import DataSummary

# Data config fields that do not change the tokenised examples (they act after, in prepare()).
NOT_IN_KEY = ("num_proc", "packing", "val_size", "group_by_length", "streaming", "cache", "license", "source", "name")
FORMAT_VERSION = 1


def default_cache_root() -> str:
    """$TUNE_DATASETS_CACHE, else datasets/ under tune's cache folder ($TUNE_CACHE, default ~/.cache/tune)."""
    return os.environ.get("TUNE_DATASETS_CACHE") or os.path.join(cache_dir(), "datasets")


def _file_digest(path: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _code_digest() -> str:
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


def tokenizer_digest(tokenizer) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    state = backend.to_str() if backend is not None else json.dumps(sorted(tokenizer.get_vocab().items()))
    extra = json.dumps([type(tokenizer).__name__, str(tokenizer.special_tokens_map),
                        [str(t) for t in tokenizer.added_tokens_decoder.values()]], sort_keys=True)
    return hashlib.blake2b((state + extra).encode("utf-8"), digest_size=16).hexdigest()


def renderer_digest(renderer) -> str:
    """Each renderer says what decides its text (segments.Renderer.fingerprint), so a new kind cannot escape the
    key by a name this module does not know."""
    definition = renderer.fingerprint() + json.dumps(list(renderer.control_tokens))
    return hashlib.blake2b(definition.encode("utf-8"), digest_size=16).hexdigest()


def _config_fields(cfg: DataConfig) -> dict:
    from omegaconf import OmegaConf

    fields = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else vars(cfg)
    assert isinstance(fields, dict)
    return {k: v for k, v in fields.items() if k not in NOT_IN_KEY}


def cache_key(cfg: DataConfig, sources, tokenizer, renderer) -> str:
    parts = {
        "version": FORMAT_VERSION,
        "code": _code_digest(),
        "data": _config_fields(cfg),
        # every field of a source (path, format, weight, encoding, columns, ignored fields) and its files' bytes
        "files": [[asdict(s), [[f, _file_digest(f)] for f in expand_paths(s.path)]] for s in sources],
        "tokenizer": tokenizer_digest(tokenizer),
        "template": renderer_digest(renderer),
    }
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(blob.encode("utf-8"), digest_size=12).hexdigest()


def summary_from_dict(d: dict) -> DataSummary:
    s = DataSummary(**{k: v for k, v in d.items() if k not in ("skipped", "unread")})
    s.skipped, s.unread = Counter(d.get("skipped", {})), Counter(d.get("unread", {}))
    return s


def load(root: str, key: str):
    """(dataset, summary) from the cache, or None."""
    folder = os.path.join(root, key)
    marker = os.path.join(folder, "tune_summary.json")
    if not os.path.exists(marker):
        return None
    import datasets

    with open(marker, encoding="utf-8") as f:
        summary = summary_from_dict(json.load(f))
    return datasets.load_from_disk(os.path.join(folder, "examples")), summary


def save(root: str, key: str, ds, summary: DataSummary) -> str | None:
    """Write the entry; None (nothing written) when it holds no example: see the module docstring."""
    import datasets

    if len(ds) == 0:
        return None
    folder = os.path.join(root, key)
    with atomic_dir(folder, keep_existing=os.path.isdir) as tmp:  # another rank's entry is identical
        datasets.disable_progress_bars()  # "Saving the dataset (0/1 shards)" is not work the user asked for
        try:
            ds.save_to_disk(os.path.join(tmp, "examples"))
        finally:
            datasets.enable_progress_bars()
        with open(os.path.join(tmp, "tune_summary.json"), "w", encoding="utf-8") as f:
            json.dump({**summary.to_dict(), "first_not_one_call": summary.first_not_one_call}, f, ensure_ascii=False)
    return folder
