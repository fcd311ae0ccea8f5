"""The training job: config -> data -> model + method -> transformers.Trainer -> saved model.

Rank 0 alone logs and writes; every rank agrees on the output folder.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ..artifacts import FINAL_DIR, TUNE_META, run_meta
from ..data.collate import PackedCollator, PaddingCollator
from ..data.dataset import build_dataset
from ..data.packing import pack_examples
from ..data.templates import get_template, to_jinja
from ..errors import ConfigError
from ..methods import count_parameters, get_method
from ..models.load import load_model, load_tokenizer, resolve_model_path
from ..models.vocab import add_control_tokens, grow_embeddings
from ..models.tiny import process_group
from .callbacks import CheckpointMarkerCallback, MetricsFileCallback, plot_loss
from .checkpoints import complete_checkpoints, replace_dir_atomically, resolve_resume
from .loss import causal_lm_loss
from .precision import compute_dtype, resolve_precision


@dataclass
class TrainResult:
    output_dir: str
    model_dir: str
    metrics: dict = field(default_factory=dict)
    model: Any = None
    tokenizer: Any = None


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def log(msg: str) -> None:
    if is_main_process():
        print(msg, file=sys.stderr, flush=True)


def default_output_dir(cfg) -> str:
    return os.path.join("outputs", f"{cfg.run_name}-{time.strftime('%Y%m%d-%H%M%S')}")


def _agree_on_output_dir(proposed: str) -> str:
    """Rank 0's choice wins: ranks start at slightly different times, so their time stamps can differ."""
    dist = process_group()
    if dist is not None:
        box = [proposed]
        dist.broadcast_object_list(box, src=0)
        return box[0]
    return proposed


def _latest_run_with_checkpoint(cfg) -> str | None:
    import glob

    runs = sorted(glob.glob(os.path.join("outputs", f"{cfg.run_name}-*")))
    runs = [r for r in runs if complete_checkpoints(r)]
    return runs[-1] if runs else None


def _split(ds, val_size: float, seed: int):
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


def _streaming_train_data(cfg, tokenizer, renderer):
    from ..data.dataset import build_streaming_dataset

    if cfg.trainer.max_steps <= 0:
        raise ConfigError("data.streaming=true: the length is unknown up front; set trainer.max_steps")
    for key in ("packing", "val_size"):
        if getattr(cfg.data, key):
            raise ConfigError(f"data.streaming=true does not support data.{key} yet; set data.streaming=false")
    ds, summary = build_streaming_dataset(cfg.data, tokenizer, renderer, log=log)
    return ds.remove_columns(["messages", "tools", "source", "line", "text"]), summary


def _packed(ds, max_length: int):
    cols = pack_examples(ds["input_ids"], ds["labels"], max_length)
    import datasets
    return datasets.Dataset.from_dict(cols)


def _step_of(checkpoint: str | None) -> int:
    return int(os.path.basename(checkpoint.rstrip("/")).split("-")[-1]) if checkpoint else 0


def _trim_metrics(path: str, keep_up_to: int) -> None:
    """A fresh run starts metrics.jsonl empty; a resumed one keeps the rows up to its checkpoint."""
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        rows = [line for line in f if keep_up_to and json.loads(line).get("step", 0) <= keep_up_to]
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(rows)


def training_arguments(cfg, output_dir: str, precision: str, has_eval: bool):
    from transformers import TrainingArguments

    t = cfg.trainer
    kwargs = dict(
        output_dir=output_dir, learning_rate=t.learning_rate,
        per_device_train_batch_size=t.per_device_train_batch_size,
        per_device_eval_batch_size=t.per_device_eval_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps, num_train_epochs=t.num_train_epochs,
        max_steps=t.max_steps, warmup_steps=t.warmup_steps if t.warmup_steps else t.warmup_ratio,
        lr_scheduler_type=t.lr_scheduler_type, weight_decay=t.weight_decay, max_grad_norm=t.max_grad_norm,
        optim=t.optim, logging_steps=t.logging_steps, save_steps=t.save_steps, save_total_limit=t.save_total_limit,
        seed=t.seed, data_seed=t.seed, bf16=precision == "bf16", fp16=precision == "fp16",
        report_to=list(t.report_to), dataloader_num_workers=t.dataloader_num_workers,
        remove_unused_columns=False, save_strategy="steps", logging_first_step=True,
        eval_strategy=("steps" if t.eval_steps else "epoch") if has_eval else "no",
        eval_steps=t.eval_steps, disable_tqdm=not is_main_process(), average_tokens_across_devices=True,
        include_num_input_tokens_seen="non_padding",
        use_cpu=not _cuda(),
    )
    # transformers 5.x renamed gradient_checkpointing -> activation_checkpointing; accept both versions.
    new_names = "activation_checkpointing" in TrainingArguments.__dataclass_fields__
    if t.gradient_checkpointing:
        kwargs["activation_checkpointing" if new_names else "gradient_checkpointing"] = True
        kwargs["activation_checkpointing_kwargs" if new_names else "gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    if cfg.deepspeed.name != "none" and cfg.deepspeed.config:
        from omegaconf import OmegaConf
        kwargs["deepspeed"] = OmegaConf.to_container(cfg.deepspeed.config, resolve=True)
    try:
        return TrainingArguments(**kwargs)
    except ValueError as err:
        raise ConfigError(f"trainer: {str(err).splitlines()[0]}") from None


def _cuda() -> bool:
    import torch
    return torch.cuda.is_available()


def check_compatibility(cfg) -> None:
    """Combinations known not to work, refused up front with one line."""
    method, ds = cfg.method.name, cfg.deepspeed.name
    if method == "ptuning_v2":
        get_method("ptuning_v2").check(cfg.trainer)
    if ds != "none" and method == "qlora":
        raise ConfigError("method=qlora with deepspeed: 4-bit bitsandbytes weights cannot be sharded by ZeRO "
                          "here; use deepspeed=none (QLoRA fits one GPU) or method=lora")
    if ds.startswith("zero3") and method == "ptuning_v2":
        raise ConfigError("method=ptuning_v2 with ZeRO-3: peft prefix tuning needs the full model config at "
                          "init; use deepspeed=zero2 or none")


def build_model(cfg, precision: str, tokenizer=None, added_tokens=()):
    """The model with the method applied; embeddings grown for tokens added to the tokenizer, their rows trainable."""
    method = get_method(cfg.method.name)
    dtype = compute_dtype(precision)
    load_dtype = None if cfg.method.name in ("full", "freeze") else dtype  # full/freeze keep fp32 master weights
    kwargs = method.load_kwargs(cfg.method, dtype) if hasattr(method, "load_kwargs") else {}
    model = load_model(cfg.model, torch_dtype=load_dtype, **kwargs)
    model.config.use_cache = False  # training: no KV cache (needed for packed masks and checkpointing)
    new_ids = tokenizer.convert_tokens_to_ids(list(added_tokens)) if added_tokens else []
    if tokenizer is not None and grow_embeddings(model, len(tokenizer)):
        log(f"tune: embeddings resized to {len(tokenizer)} rows for the added tokens")
    model = method.apply(model, cfg.method, cfg.trainer, new_token_ids=new_ids)
    trainable, total = count_parameters(model)
    log(f"tune: method={cfg.method.name}: trainable parameters {trainable:,} of {total:,} "
        f"({100 * trainable / max(total, 1):.2f}%)")
    return model


def parameter_checksum(model) -> str:
    """A digest of every trainable parameter's values on this rank."""
    import hashlib

    h = hashlib.sha256()
    for name, p in sorted(model.named_parameters()):
        if p.requires_grad and p.numel():
            h.update(name.encode())
            h.update(p.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def check_ranks_agree(trainer, cfg) -> None:
    """After training, every rank must hold the same weights; N unsynchronised copies would not.
    (ZeRO-3 shards parameters, so ranks hold different shards by design: checked on the gathered save.)"""
    dist = process_group()
    if dist is None or cfg.deepspeed.name.startswith("zero3"):
        return
    sums = [None] * dist.get_world_size()
    dist.all_gather_object(sums, parameter_checksum(trainer.model))
    if len(set(sums)) != 1:
        raise RuntimeError(f"ranks disagree after training: parameter checksums {sums}")
    log(f"tune: ranks agree: trainable parameter checksum {sums[0]} on all {len(sums)} ranks")


def save_final(trainer, cfg, tokenizer, renderer, output_dir: str, added_tokens=()) -> str:
    """Model (or adapter) + tokenizer with the training template as chat_template + tune.json, atomically."""
    final = os.path.join(output_dir, FINAL_DIR)
    tmp = os.path.join(output_dir, f".{FINAL_DIR}.tmp")
    trainer.save_model(tmp)  # gathers ZeRO-3 shards; peft models save the adapter
    if trainer.is_world_process_zero():
        if cfg.template.name != "tokenizer":
            tokenizer.chat_template = to_jinja(renderer)
        tokenizer.save_pretrained(tmp)
        with open(os.path.join(tmp, TUNE_META), "w", encoding="utf-8") as f:
            json.dump(run_meta(cfg, added_tokens), f, indent=1, ensure_ascii=False, default=str)
        replace_dir_atomically(tmp, final)
    trainer.accelerator.wait_for_everyone()
    return final


def add_template_tokens(cfg, tokenizer, renderer) -> list[str]:
    """The template's control tokens the tokenizer lacks, added (or refused); checked against the method now,
    before anything heavy loads."""
    added = add_control_tokens(tokenizer, renderer.control_tokens, cfg.template.name, cfg.template.add_missing_tokens)
    if added:
        method = get_method(cfg.method.name)
        if hasattr(method, "check"):
            method.check(cfg.trainer, added)
        log(f"tune: template={cfg.template.name}: added {len(added)} control tokens the tokenizer lacked "
            f"({', '.join(added)}); their embedding rows train with the model")
    return added


def run_training(cfg) -> TrainResult:
    """Train as the config says and return where it went, the final metrics, the model and tokenizer."""
    from omegaconf import OmegaConf
    from transformers import Trainer, set_seed

    check_compatibility(cfg)
    resolve_model_path(cfg.model)  # builds the tiny model if needed, before any process group exists
    precision = resolve_precision(cfg.trainer.precision)
    output_dir = cfg.trainer.output_dir
    if not output_dir and str(cfg.trainer.resume).lower() == "auto":
        output_dir = _latest_run_with_checkpoint(cfg)
    output_dir = output_dir or default_output_dir(cfg)
    args = training_arguments(cfg, output_dir, precision, has_eval=bool(cfg.data.val_size))
    output_dir = _agree_on_output_dir(output_dir)
    args.output_dir = output_dir
    state = args.distributed_state
    log(f"distributed: world_size={state.num_processes} backend={state.backend or 'none'} "
        f"type={state.distributed_type.value if hasattr(state.distributed_type, 'value') else state.distributed_type}")
    if cfg.deepspeed.name != "none":
        # ZeRO-3 builds the model inside deepspeed.zero.Init, which reads the world size from DeepSpeed's own
        # comm layer: hand it the process group accelerate already made (on CPU it would otherwise see 1).
        import deepspeed
        deepspeed.init_distributed(dist_backend=state.backend or ("nccl" if _cuda() else "gloo"))
    set_seed(cfg.trainer.seed)

    tokenizer = load_tokenizer(cfg.model)
    renderer = get_template(cfg.template.name, tokenizer)
    added = add_template_tokens(cfg, tokenizer, renderer)
    if cfg.data.streaming:
        train_ds, summary = _streaming_train_data(cfg, tokenizer, renderer)
        eval_ds = None
    else:
        ds, summary = build_dataset(cfg.data, tokenizer, renderer, log=log)
        for line in summary.lines():
            log(line)
        if len(ds) == 0:
            raise ConfigError("data: no training examples left (see the summary above)")
        train_ds, eval_ds = _split(ds.remove_columns(["messages", "tools", "source", "line", "text"]), cfg.data.val_size, cfg.trainer.seed)
    if cfg.data.packing:
        train_ds = _packed(train_ds, cfg.data.max_length)
        log(f"tune data: packed into {len(train_ds)} rows of at most {cfg.data.max_length} tokens")
        collator = PackedCollator(tokenizer.pad_token_id)
    else:
        collator = PaddingCollator(tokenizer.pad_token_id)

    model = build_model(cfg, precision, tokenizer, added)
    if is_main_process():
        os.makedirs(output_dir, exist_ok=True)
        OmegaConf.save(cfg, os.path.join(output_dir, "config.yaml"), resolve=True)
    metrics_path = os.path.join(output_dir, "metrics.jsonl")
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds, data_collator=collator,
                      processing_class=tokenizer, compute_loss_func=causal_lm_loss,
                      callbacks=[MetricsFileCallback(metrics_path), CheckpointMarkerCallback()])
    resume = resolve_resume(cfg.trainer.resume, output_dir)
    if resume:
        log(f"tune: resuming from {resume}")
    if is_main_process():
        _trim_metrics(metrics_path, _step_of(resume))
    result = trainer.train(resume_from_checkpoint=resume)
    if cfg.data.streaming:
        for line in summary.lines():
            log(line.replace("tune data: records", "tune data (streamed so far): records"))
    metrics = dict(result.metrics)
    if eval_ds is not None:
        ev = trainer.evaluate()
        ev["eval_perplexity"] = math.exp(min(ev["eval_loss"], 50))
        metrics.update(ev)
    check_ranks_agree(trainer, cfg)
    final = save_final(trainer, cfg, tokenizer, renderer, output_dir, added)
    if is_main_process():  # after the final evaluation, so its row is on the curve
        plot_loss(metrics_path, os.path.join(output_dir, "loss.png"))
        log(f"tune: saved {final}")
    model = trainer.model
    model.config.use_cache = True
    return TrainResult(output_dir=output_dir, model_dir=final, metrics=metrics, model=model, tokenizer=tokenizer)


def train_job(overrides: list[str]) -> int:
    """`tune train` / `python -m tune.train`: this process is the job, so it leaves the process group together
    with the others (a rank exiting while gloo threads still serve another aborts it: "terminate called
    without an active exception")."""
    from ..config import compose_command_line

    run_training(compose_command_line(overrides))
    dist = process_group()
    if dist is not None:
        dist.barrier()
        dist.destroy_process_group()
    return 0
