"""Files -> conversations -> tokenised examples, as a ``datasets.Dataset``.

The record -> conversation step runs here in one pass so that errors carry FILE:LINE and every
skipped record is counted by reason; tokenisation then runs with ``Dataset.map`` (batched,
``num_proc`` workers, Arrow-backed).
"""
from __future__ import annotations

import os
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice

import datasets

from ..errors import ConfigError, DataError
from .config import DataConfig
from .conversation import Conversation, InvalidConversation, check_text
from .formats import detect_format, get_format, remap_columns, unread_fields
from .instructions import apply_instruction_mode
from .labels import SegmentEncoder, build_example
from .reading import RawRecord, expand_paths, read_records
from .summary import DataSummary

DETECT_SAMPLE = 20


@dataclass
class Source:
    path: str
    format: str = "auto"
    weight: float = 1.0
    encoding: str = "utf-8"
    columns: dict | None = None   # canonical field -> the record's key (data.columns)
    ignore: tuple = ()            # fields the user says to leave unread (data.ignore_fields)


def sources_of(cfg: DataConfig) -> list[Source]:
    """data.path/format, or data.mix entries (each {path, format, weight, encoding})."""
    mix = list(cfg.mix or [])
    if mix:
        sources = []
        for i, m in enumerate(mix):
            if not isinstance(m, Mapping) or not m.get("path"):
                raise ConfigError(f"data.mix[{i}]: needs a path ({{path: FILE, format: F, weight: W}})")
            try:
                weight = float(m.get("weight", 1.0))
            except (TypeError, ValueError):
                raise ConfigError(f"data.mix[{i}].weight: {m.get('weight')!r} is not a number") from None
            if not weight > 0:
                raise ConfigError(f"data.mix[{i}].weight: {weight} (a weight keeps round(weight x records) of the "
                                  "file: give a number above 0, or leave the file out)")
            sources.append(Source(m["path"], m.get("format", "auto"), weight, m.get("encoding", cfg.encoding),
                                  dict(m.get("columns") or cfg.columns or {}),
                                  tuple(m.get("ignore_fields") or cfg.ignore_fields or ())))
        return sources
    if not cfg.path:
        raise ConfigError("data.path: not set (give data.path=FILE, or data=NAME from configs/data/)")
    name = cfg.name
    if name and not os.path.exists(cfg.path) and cfg.path == _named_path(name):  # the named set's own file
        where = cfg.source or "its public release"
        licence = cfg.license
        raise ConfigError(f"data={name}: expects {cfg.path}, which is not here; get it from {where}"
                          + (f" (licence: {licence})" if licence else "") + ", or point data.path at your copy "
                          "(`tune list datasets` shows which ship with tune)")
    return [Source(cfg.path, cfg.format, 1.0, cfg.encoding, dict(cfg.columns or {}),
                   tuple(cfg.ignore_fields or ()))]


def check_sources(cfg: DataConfig) -> None:
    """Every data source names files that exist (ConfigError / DataError naming the path otherwise): checked by
    the train command right after the config, before seconds of setup and model loading."""
    for source in sources_of(cfg):
        expand_paths(source.path)


def _named_path(name: str) -> str | None:
    """The path configs/data/NAME.yaml gives (None when there is no such named dataset)."""
    from omegaconf import OmegaConf

    from ..paths import config_file

    path = config_file("data", name)
    return OmegaConf.load(path).get("path") if os.path.isfile(path) else None  # type: ignore[union-attr,arg-type]


def iter_conversations(source: Source, on_error: str, summary: DataSummary):
    """Yield conversation rows ({messages, tools, source, line}) of every file of a source, lazily,
    counting records read and skipped (by reason) into ``summary``."""
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"data.on_error: {on_error!r} is not one of raise, skip")
    for path in expand_paths(source.path):
        records = read_records(path, source.encoding)
        if source.columns:
            records = (RawRecord(r.source, r.line, remap_columns(r.record, source.columns), r.error) for r in records)
        fmt_name, note = str(getattr(source.format, "value", source.format)), ""
        if fmt_name == "auto":
            head = list(islice(records, DETECT_SAMPLE))
            if not head:
                raise DataError("the file holds no records", source=path)
            sample = [r.record for r in head]
            detected = detect_format(sample)
            if detected is None:
                raise DataError("data.format=auto: no known format matches the first records; set data.format "
                                "(e.g. alpaca, sharegpt, openai, dolly, belle, firefly, cmedqa2) or map the fields "
                                "with data.columns", source=path)
            fmt_name = detected
            unread = unread_fields(fmt_name, sample, source.ignore)
            if unread:
                key, n = unread.most_common(1)[0]
                raise DataError(f"data.format=auto: the records look like {fmt_name}, which would leave field "
                                f"{key!r} unread (in {n} of {len(sample)} records); map it, e.g. data.columns="
                                f"{{instruction: instruction, input: {key}, output: ...}}, leave it unread with "
                                f"data.ignore_fields=[{key}], or set data.format",
                                source=path)
            note = ", auto-detected"  # said once, in the summary's source line (a cache hit prints it too)
            records = _chain(head, records)
        adapter = get_format(fmt_name)
        summary.sources.append(f"{path} (format {fmt_name}{note})")
        for raw in records:
            summary.records_read += 1
            summary.unread.update(unread_fields(fmt_name, [raw.record]))  # data.ignore_fields included: unread too
            try:
                conv = _convert(adapter, raw)
            except DataError as err:
                if on_error == "raise":
                    raise
                summary.skipped[err.reason if not err.field else f"{err.field}: {err.reason}"] += 1
                continue
            yield {"messages": conv.to_dicts(), "tools": conv.tools, "source": path, "line": raw.line}


def load_conversations(source: Source, on_error: str = "raise") -> tuple[list[dict], DataSummary]:
    """Every conversation row of a source in memory, sampled by the source's weight."""
    summary = DataSummary()
    rows = list(iter_conversations(source, on_error, summary))
    if source.weight != 1.0:
        n = len(rows)
        rows = _sample(rows, source.weight)
        if len(rows) < n:  # counted, so the summary adds up: read = kept + skipped (+ repeats)
            summary.skipped[f"sampled out by data.mix weight {source.weight:g}"] += n - len(rows)
        else:
            summary.repeated += len(rows) - n
    return rows, summary


def _convert(adapter, raw: RawRecord) -> Conversation:
    if raw.error:
        raise DataError(raw.error, source=raw.source, line=raw.line)
    if not isinstance(raw.record, dict):
        raise DataError(f"expected a JSON object, got {type(raw.record).__name__}", source=raw.source, line=raw.line)
    try:
        return check_text(adapter.to_conversation(raw.record))
    except InvalidConversation as err:
        raise DataError(err.reason, source=raw.source, line=raw.line, field=err.field) from None


def _sample(rows: list[dict], weight: float, seed: int = 0) -> list[dict]:
    """Weight w keeps round(w * n) rows: whole copies for w >= 1, then a seeded sample for the rest."""
    n = round(weight * len(rows))
    whole, rest = divmod(n, len(rows)) if rows else (0, 0)
    return rows * whole + random.Random(seed).sample(rows, rest)


def _chain(head, tail):
    yield from head
    yield from tail


def tokenize_rows(batch: dict, encoder: SegmentEncoder, renderer, max_length, train_on_prompt, mask_history,
                  system) -> dict:
    """Dataset.map function: conversation rows -> rendered text, input_ids, labels and flags."""
    segments = [renderer.render(Conversation.from_dicts(m, t), system=system)
                for m, t in zip(batch["messages"], batch["tools"])]
    out: dict[str, list] = {"text": [], "input_ids": [], "labels": [], "truncated": [], "n_labelled": [], "exact": []}
    for encoded in encoder.encode(segments):
        ex = build_example(encoded, max_length, train_on_prompt, mask_history)
        out["text"].append(encoded.text)
        out["input_ids"].append(ex.input_ids)
        out["labels"].append(ex.labels)
        out["truncated"].append(ex.truncated)
        out["n_labelled"].append(ex.n_labelled)
        out["exact"].append(ex.exact)
    return out


def column(ds: datasets.Dataset, name: str) -> list:
    """A flat column as a Python list straight from Arrow (``ds[name]`` builds it row by row: 5 s of a 70,000
    conversation preparation for five columns)."""
    if ds._indices is not None:  # rows selected or shuffled: Arrow's column is not the dataset's
        return list(ds[name])
    return ds.data.column(name).to_pylist()


def count_not_one_call(summary: DataSummary, exact, sources, lines) -> None:
    """Every example is checked (it costs nothing: the encoder knows); the summary names the first skewed one."""
    for ok, source, line in zip(exact, sources, lines):
        if not ok:
            summary.not_one_call += 1
            summary.first_not_one_call = summary.first_not_one_call or f"{source}:{line}"


def _map_kwargs(cfg: DataConfig, tokenizer, renderer) -> dict:
    return dict(encoder=SegmentEncoder(tokenizer, renderer.control_tokens), renderer=renderer,
                max_length=cfg.max_length, train_on_prompt=cfg.train_on_prompt, mask_history=cfg.mask_history,
                system=cfg.system)


def _instruction_args(cfg: DataConfig) -> tuple[str, str, list[str]]:
    return str(cfg.instruction_mode), cfg.instruction, list(cfg.instructions or [])


def build_streaming_dataset(cfg: DataConfig, tokenizer, renderer) -> tuple[datasets.IterableDataset, DataSummary]:
    """Like build_dataset, but lazy (files larger than memory): records are read, converted and tokenised
    as the consumer iterates, and the summary fills in as it goes (complete once iteration ends)."""
    if cfg.mix:
        raise ConfigError("data.streaming=true reads data.path only; mixing (data.mix) needs data.streaming=false")
    summary = DataSummary()
    source = sources_of(cfg)[0]
    instruction_args = _instruction_args(cfg)
    kwargs = _map_kwargs(cfg, tokenizer, renderer)

    def rows():
        for row in iter_conversations(source, cfg.on_error, summary):
            apply_instruction_mode([row], *instruction_args)
            yield row

    def tokenize_and_count(batch):
        out = tokenize_rows(batch, **kwargs)
        for t, n in zip(out["truncated"], out["n_labelled"]):
            summary.no_labelled_token += n == 0
            summary.truncated += bool(t and n > 0)
            summary.examples_kept += n > 0
        count_not_one_call(summary, out["exact"], batch["source"], batch["line"])
        return out

    ds = datasets.IterableDataset.from_generator(rows)
    ds = ds.map(tokenize_and_count, batched=True, batch_size=256)
    ds = ds.filter(lambda n: n > 0, input_columns="n_labelled")
    return ds.remove_columns(["truncated", "n_labelled", "exact"]), summary


EXAMPLE_COLUMNS = ("messages", "tools", "source", "line", "text", "input_ids", "labels")


def build_dataset(cfg: DataConfig, tokenizer, renderer) -> tuple[datasets.Dataset, DataSummary]:
    """Load every source of ``cfg`` (the data config) and tokenise it; examples keep input order.

    Returns the dataset (columns messages, tools, source, line, text, input_ids, labels) and the summary.
    Raises DataError on bad input when cfg.on_error == 'raise'.
    """
    summary, rows = DataSummary(), []
    for source in sources_of(cfg):
        src_rows, src_summary = load_conversations(source, cfg.on_error)
        rows += src_rows
        summary.merge(src_summary)
    if cfg.max_samples:
        rows = rows[: cfg.max_samples]
    apply_instruction_mode(rows, *_instruction_args(cfg))
    if not rows:  # nothing to tokenise: the columns training reads, empty (the summary says why)
        return datasets.Dataset.from_dict({c: [] for c in EXAMPLE_COLUMNS}), summary
    ds = datasets.Dataset.from_list(rows)
    ds = ds.map(tokenize_rows, batched=True, batch_size=256,
                num_proc=cfg.num_proc if cfg.num_proc and cfg.num_proc > 1 and len(ds) > 1000 else None,
                fn_kwargs=_map_kwargs(cfg, tokenizer, renderer),
                desc="tokenising", load_from_cache_file=False,
                # no cache is read, so skip datasets' fingerprint: it dill-hashes the tokenizer in fn_kwargs,
                # seconds per call for a 150k-token vocabulary
                new_fingerprint=uuid.uuid4().hex)
    truncated, n_labelled, exact, sources, lines = (column(ds, c) for c in ("truncated", "n_labelled", "exact",
                                                                             "source", "line"))
    summary.truncated = sum(1 for t, n in zip(truncated, n_labelled) if t and n > 0)
    summary.no_labelled_token = sum(1 for n in n_labelled if n == 0)
    count_not_one_call(summary, exact, sources, lines)
    if summary.no_labelled_token:
        ds = ds.filter(lambda n: n > 0, input_columns="n_labelled", desc="dropping examples with no labelled token")
    ds = ds.remove_columns(["truncated", "n_labelled", "exact"])
    summary.examples_kept = len(ds)
    return ds, summary
