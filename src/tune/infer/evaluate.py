"""`tune eval checkpoint=DIR data.path=FILE`: loss and perplexity on the labelled tokens, then answers
generated with the training template and scored (ROUGE-1/2/L, BLEU-4). Writes predictions.jsonl and
eval_metrics.json into eval.out (default: DIR/eval)."""
from __future__ import annotations

import json
import os
import sys

import torch

from ..data.collate import PaddingCollator
from ..data.conversation import Conversation
from ..data.labels import IGNORE_INDEX
from ..data.prepare import prepare
from ..extras import require
from ..loss import labelled_token_loss, perplexity
from ..rundir import RunDir
from .generation import generate_replies
from .load import load_trained
from .metrics import generation_scores


def labelled_loss(model, tokenizer, ds, batch_size: int) -> tuple[float, int]:
    """Mean cross-entropy over every labelled token of the dataset, and their count."""
    collate = PaddingCollator(tokenizer.pad_token_id)
    total, count = 0.0, 0
    device = next(model.parameters()).device
    for i in range(0, len(ds), batch_size):
        batch = collate(
            [
                {"input_ids": r["input_ids"], "labels": r["labels"]}
                for r in ds.select(range(i, min(i + batch_size, len(ds))))
            ]
        )
        labels = batch["labels"].to(device)
        with torch.no_grad():
            loss, _ = labelled_token_loss(
                model,
                {"input_ids": batch["input_ids"].to(device), "attention_mask": batch["attention_mask"].to(device)},
                labels,
                num_items_in_batch=1,
            )  # divided by 1: the token-loss sum
        total += loss.item()
        count += int(labels[:, 1:].ne(IGNORE_INDEX).sum())
    return total / max(count, 1), count


def split_prompt(messages: list[dict]) -> tuple[Conversation, str]:
    """The conversation up to the last assistant turn, and that turn's text (the reference)."""
    conv = Conversation.from_dicts(messages)
    last = max(i for i, m in enumerate(conv.messages) if m.role == "assistant")
    reference = conv.messages[last].content
    conv.messages = conv.messages[:last]
    return conv, reference


# The run's data settings that decide how a record becomes tokens: an evaluation reads new records the way the
# run read its own, unless the command line sets the field (its path, sampling and batching stay the command's).
RUN_DATA_FIELDS = (
    "format",
    "encoding",
    "on_error",
    "max_length",
    "train_on_prompt",
    "mask_history",
    "system",
    "columns",
    "ignore_fields",
    "instruction_mode",
    "instruction",
    "instructions",
)


def with_run_data_settings(data_cfg, run_meta, given: set[str], log=lambda m: None) -> None:
    """Set ``data_cfg``'s RUN_DATA_FIELDS to the run's values (tune.json's config), except those in ``given``
    (the fields the command line set; "*" for all, as data=NAME does)."""
    run_data = run_meta.config_value("data", default={})
    taken = []
    for key in RUN_DATA_FIELDS:
        if key in run_data and key not in given and "*" not in given and run_data[key] != data_cfg[key]:
            data_cfg[key] = run_data[key]
            taken.append(f"{key}={run_data[key]!r}")
    if taken:
        log(f"tune: eval: the run's data settings apply: {', '.join(taken)} (set data.KEY=... to change one)")


def run_eval(cfg, given_data_fields: set[str] = frozenset()) -> dict:
    e = cfg.eval
    require("eval", "tune eval (its ROUGE and BLEU)")
    trained = load_trained(e.checkpoint, trust_remote_code=cfg.model.trust_remote_code)
    with_run_data_settings(cfg.data, trained.meta, set(given_data_fields), log=lambda m: print(m, file=sys.stderr))
    # held-out examples are scored whole (never packed), as training's own evaluation does
    data = prepare(cfg.data, trained.tokenizer, trained.renderer, log=lambda m: print(m, file=sys.stderr))
    ds, summary = data.examples, data.summary
    loss, n_tokens = labelled_loss(trained.model, trained.tokenizer, ds, e.batch_size)
    limit = e.limit if e.limit is not None else len(ds)
    rows = ds.select(range(min(limit, len(ds))))
    prompts, references = zip(*[split_prompt(r["messages"]) for r in rows]) if len(rows) else ((), ())
    predictions: list[str] = []
    for i in range(0, len(prompts), e.batch_size):
        predictions += generate_replies(
            trained.model,
            trained.tokenizer,
            trained.renderer,
            list(prompts[i : i + e.batch_size]),
            e.max_new_tokens,
            e.temperature,
        )
    metrics = {
        "loss": round(loss, 6),
        "perplexity": round(perplexity(loss), 4),
        "labelled_tokens": n_tokens,
        "examples": len(ds),
        "generated": len(predictions),
        **generation_scores(predictions, list(references)),
        "checkpoint": e.checkpoint,
        "data": summary.to_dict(),
    }
    out = e.out or RunDir(e.checkpoint).eval
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "predictions.jsonl"), "w", encoding="utf-8") as f:
        for row, conv, ref, pred in zip(rows, prompts, references, predictions):
            f.write(
                json.dumps(
                    {
                        "source": row["source"],
                        "line": row["line"],
                        "messages": conv.to_dicts(),
                        "reference": ref,
                        "prediction": pred,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    with open(os.path.join(out, "eval_metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=1, ensure_ascii=False)
    return metrics
