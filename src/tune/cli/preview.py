"""`tune preview`: show exactly what the model will be trained on.

Contract (stable, used to check the toolkit from outside): one JSON object per kept example, in
input order: {"messages": [{"role", "content"}...], "text": "...", "input_ids": [...], "labels": [...]}, with
``text`` the exact rendered text the ids come from (before truncation) and labels[i] either -100 or
input_ids[i]. With data.packing=true, one object per packed training row instead:
{"examples": ["FILE:LINE", ...], "input_ids", "labels", "position_ids"}, exactly as the trainer gets it.
The rows come from the same data/prepare.py training uses. The data summary goes to stderr.
"""
from __future__ import annotations

import json
import sys

from ..data.dataset import sources_of
from ..data.labels import IGNORE_INDEX
from ..data.prepare import prepare
from ..data.reading import expand_paths
from ..data.templates import get_template
from ..models.load import load_tokenizer
from ..models.vocab import add_control_tokens
from ..outputs import refuse_overwriting_inputs

GREEN, RESET = "\033[32;1m", "\033[0m"


def run_preview(cfg) -> int:
    if cfg.preview.out:
        inputs = [f for source in sources_of(cfg.data) for f in expand_paths(source.path)]
        refuse_overwriting_inputs(cfg.preview.out, inputs, "preview.out")
    tokenizer = load_tokenizer(cfg.model)
    renderer = get_template(cfg.template.name, tokenizer)
    added = add_control_tokens(tokenizer, renderer.control_tokens, cfg.template.name, cfg.template.add_missing_tokens)
    if added:  # as training does, so the ids shown are the ids trained
        print(f"tune: template={cfg.template.name}: added control tokens the tokenizer lacked ({', '.join(added)})",
              file=sys.stderr)
    limit = cfg.preview.limit
    data = prepare(cfg.data, tokenizer, renderer)  # streaming reads only as far as the limit
    rows = data.train if cfg.data.packing else data.examples
    if limit is not None:
        rows = rows.take(limit) if cfg.data.streaming else rows.select(range(min(limit, len(rows))))
    out = open(cfg.preview.out, "w", encoding="utf-8") if cfg.preview.out else sys.stdout
    try:
        for row in rows:
            if cfg.data.packing:
                row = {
                    **row,
                    "examples": [f"{data.examples[i]['source']}:{data.examples[i]['line']}" for i in row["examples"]],
                }
            out.write(format_row(row, tokenizer, cfg.preview.format, colour=out.isatty()) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    summary = data.summary
    for line in summary.lines():
        print(line, file=sys.stderr)
    return 0


def format_row(row: dict, tokenizer, fmt: str, colour: bool) -> str:
    if fmt == "text":
        return render_text_view(row, tokenizer, colour)
    if "examples" in row:  # a packed row
        return json.dumps({k: row[k] for k in ("examples", "input_ids", "labels", "position_ids")}, ensure_ascii=False)
    messages = [{"role": m["role"], "content": m["content"]} for m in row["messages"]]
    return json.dumps(
        {"messages": messages, "text": row["text"], "input_ids": row["input_ids"], "labels": row["labels"]},
        ensure_ascii=False,
    )


def render_text_view(row: dict, tokenizer, colour: bool) -> str:
    """The example's text with labelled spans in colour (terminal) or [[double brackets]]."""
    start, end = (GREEN, RESET) if colour else ("[[", "]]")
    parts, run, run_labelled = [], [], None
    for tok, lab in zip(row["input_ids"], row["labels"]):
        labelled = lab != IGNORE_INDEX
        if run and labelled != run_labelled:
            parts.append((run_labelled, tokenizer.decode(run)))
            run = []
        run.append(tok)
        run_labelled = labelled
    if run:
        parts.append((run_labelled, tokenizer.decode(run)))
    text = "".join(f"{start}{t}{end}" if lab else t for lab, t in parts)
    where = f"packed row of {', '.join(row['examples'])}" if "examples" in row else f"{row['source']}:{row['line']}"
    return f"--- {where} ({len(row['input_ids'])} tokens)\n{text}"
