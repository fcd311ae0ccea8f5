"""One data pipeline for train, preview and eval: tokenised examples -> held-out split -> packing -> collator.

``prepare`` is the only place these choices are made, so `tune preview` shows the rows training sees (packed
rows when data.packing=true) and `tune eval` batches as training evaluates. The order of examples within an
epoch (length grouping by global batch) is the sampler's business: data/batching.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..distributed import is_main_process, main_process_first
from ..errors import ConfigError
from . import cache
from .collate import PackedCollator, PaddingCollator
from .config import DataConfig
from .dataset import build_dataset, build_streaming_dataset, sources_of
from .packing import pack_examples
from .summary import DataSummary

# What a tokenised example keeps for people (preview, eval, error messages), not for the model.
TEXT_COLUMNS = ["messages", "tools", "source", "line", "text"]


@dataclass
class PreparedData:
    examples: Any               # every kept example with its text columns, in input order
    train: Any                  # what the trainer iterates: input_ids, labels (+ position_ids when packed)
    eval: Any                   # held-out examples (data.val_size), never packed; or None
    collator: Callable
    summary: DataSummary


def _quiet(msg: str) -> None:
    pass


def split_held_out(ds, val_size: float, seed: int, log: Callable = _quiet):
    """(train, held-out): val_size is a fraction (<1) or a count (>=1) of examples."""
    if not val_size:
        return ds, None
    n = int(val_size) if val_size >= 1 else max(1, round(val_size * len(ds)))
    if n * 2 > len(ds):  # a recipe's val_size on a small sample (a smoke run): keep most data for training
        smaller = max(1, len(ds) // 10)
        log(f"tune: data.val_size={val_size} is more than half of the {len(ds)} examples; holding out {smaller}")
        n = smaller
    if n >= len(ds):
        raise ConfigError(f"data.val_size: {val_size} leaves no training examples ({len(ds)} in all)")
    parts = ds.train_test_split(test_size=n, seed=seed, shuffle=True)
    return parts["train"], parts["test"]


def packed(ds, max_length: int):
    """Rows of whole examples (best-fit decreasing) with restarting position_ids; ``examples`` lists each row's
    members by their ``example`` index (their row in PreparedData.examples)."""
    import datasets

    return datasets.Dataset.from_dict(pack_examples(ds["input_ids"], ds["labels"], max_length, ds["example"]))


def collator_for(cfg: DataConfig, tokenizer):
    return PackedCollator(tokenizer.pad_token_id) if cfg.packing else PaddingCollator(tokenizer.pad_token_id)


def tokenised_examples(cfg: DataConfig, tokenizer, renderer, log: Callable = _quiet):
    """build_dataset, through the cache (data/cache.py) unless data.cache=false."""
    if not cfg.cache:
        return build_dataset(cfg, tokenizer, renderer)
    root = cache.default_cache_root()
    key = cache.cache_key(cfg, sources_of(cfg), tokenizer, renderer)
    with main_process_first():
        hit = cache.load(root, key)
        if hit is not None:
            log(f"tune data: tokenised examples read from the cache {key} (data.cache=false tokenises again)")
            return hit
        ds, summary = build_dataset(cfg, tokenizer, renderer)
        if is_main_process():
            cache.save(root, key, ds, summary)
        return ds, summary


def no_usable_example(summary, log: Callable | None = None):
    """One line, after the summary that says why (records read, skipped by reason)."""
    if log is not None:
        for line in summary.lines():
            log(line)
    raise ConfigError(f"data: no usable example left ({summary.records_read} records read; the summary above says "
                      "why; data.on_error=raise stops at the first bad record with its line)")


def prepare(cfg: DataConfig, tokenizer, renderer, seed: int = 42, max_steps: int | None = None,
            log: Callable = _quiet) -> PreparedData:
    """``cfg`` is the data config; ``max_steps`` the trainer's (a streamed run needs one; None: not training).
    Raises ConfigError when nothing is left to train on."""
    if cfg.streaming:
        if max_steps is not None and max_steps <= 0:
            raise ConfigError("data.streaming=true: the length is unknown up front; set trainer.max_steps")
        for key, value in (("packing", cfg.packing), ("val_size", cfg.val_size)):
            if value:
                raise ConfigError(f"data.streaming=true does not support data.{key} yet; set data.streaming=false")
        ds, summary = build_streaming_dataset(cfg, tokenizer, renderer)
        if next(iter(ds), None) is None:  # reads until the first usable example (all of it when there is none)
            no_usable_example(summary, log)
        summary.reset()  # the counts restart with the training pass
        return PreparedData(ds, ds.remove_columns(TEXT_COLUMNS), None, collator_for(cfg, tokenizer), summary)
    ds, summary = tokenised_examples(cfg, tokenizer, renderer, log)
    for line in summary.lines():
        log(line)
    if len(ds) == 0:
        no_usable_example(summary)
    tokens = ds.remove_columns(TEXT_COLUMNS).add_column("example", list(range(len(ds))))
    train, held_out = split_held_out(tokens, cfg.val_size, seed, log)
    if cfg.packing:
        train = packed(train, cfg.max_length)
        log(f"tune data: packed {summary.examples_kept - (len(held_out) if held_out is not None else 0)} examples "
            f"into {len(train)} rows of at most {cfg.max_length} tokens")
    return PreparedData(ds, train, held_out, collator_for(cfg, tokenizer), summary)
