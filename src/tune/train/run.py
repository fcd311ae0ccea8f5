"""The training job: config -> data -> model + method -> transformers.Trainer -> saved model.

Rank 0 alone logs and writes; every rank agrees on the output folder.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ..data.prepare import prepare
from ..data.templates import get_template, to_jinja
from ..data.tokenizer_template import own_template_difference
from ..errors import ConfigError
from ..extras import BITSANDBYTES, require
from ..loss import causal_lm_loss, perplexity
from ..methods import count_parameters, get_method
from ..models.load import hidden_size, load_model, load_tokenizer, resolve_model_path
from ..models.vocab import add_control_tokens, grow_embeddings, set_generation_stops
from ..precision import (
    BF16_MATH_MIN_HIDDEN,
    cpu_bf16_units,
    matmul_precision,
    precision_name,
    resolve_matmul_precision,
    resolve_precision,
)
from ..precision import torch_dtype as compute_dtype
from ..paths import publish_dir
from ..rundir import RunDir, run_meta, step_of
from ..distributed import is_main_process, leave_process_group, process_group, rank_zero_value
from .callbacks import CheckpointMarkerCallback, MetricsFileCallback, bars_fit_stderr, plot_loss
from .checkpoints import compare_resumed_config, holds_a_run, lock_output_dir, plan_resume
from .throughput import mfu_text
from .trainer import TuneTrainer


@dataclass
class TrainResult:
    output_dir: str
    model_dir: str
    metrics: dict = field(default_factory=dict)
    model: Any = None
    tokenizer: Any = None


def log(msg: str) -> None:
    if is_main_process():
        print(msg, file=sys.stderr, flush=True)


def default_output_dir(cfg) -> str:
    return os.path.join("outputs", f"{cfg.run_name}-{time.strftime('%Y%m%d-%H%M%S')}")


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
        optim=t.optim, logging_steps=t.logging_steps, save_steps=t.save_steps,
        save_total_limit=None,  # tune rotates once the new checkpoint is complete (CheckpointMarkerCallback)
        seed=t.seed, data_seed=t.seed, bf16=precision == "bf16", fp16=precision == "fp16",
        report_to=list(t.report_to), dataloader_num_workers=t.dataloader_num_workers,
        remove_unused_columns=False, save_strategy="steps", logging_first_step=True,
        eval_strategy=("steps" if t.eval_steps else "epoch") if has_eval else "no",
        eval_steps=t.eval_steps, disable_tqdm=not is_main_process() or not bars_fit_stderr(),
        average_tokens_across_devices=True,
        include_num_input_tokens_seen="non_padding", prediction_loss_only=True,
        use_cpu=not _cuda(), torch_compile=t.torch_compile,
    )
    if t.use_liger_kernel:
        # Liger patches RMSNorm, RoPE, SwiGLU and the causal-LM forward; its fused linear cross-entropy acts only
        # when the model gets labels, and tune's loss never passes them: logits still come from tune's chunked
        # labelled-only loss (tune/loss.py), which keeps the ZeRO-3 and added-token paths.
        kwargs["use_liger_kernel"] = True
    if cfg.deepspeed.name != "none" and cfg.deepspeed.config:
        from omegaconf import OmegaConf
        kwargs["deepspeed"] = OmegaConf.to_container(cfg.deepspeed.config, resolve=True)
    try:
        return TrainingArguments(**kwargs)
    except ValueError as err:
        raise ConfigError(f"trainer: {str(err).splitlines()[0]}") from None


def set_activation_checkpointing(args, on: bool) -> None:
    """Activation checkpointing on TrainingArguments, once trainer.gradient_checkpointing is resolved (auto needs
    the prepared data); non-reentrant, which works with frozen embeddings and peft. transformers 5.x renamed
    gradient_checkpointing -> activation_checkpointing: both spellings are accepted."""
    new_names = hasattr(args, "activation_checkpointing")
    setattr(args, "activation_checkpointing" if new_names else "gradient_checkpointing", on)
    setattr(args, "activation_checkpointing_kwargs" if new_names else "gradient_checkpointing_kwargs",
            {"use_reentrant": False} if on else None)


def _cuda() -> bool:
    import torch
    return torch.cuda.is_available()


def check_compatibility(cfg) -> None:
    """Combinations known not to work, refused up front with one line (each method knows its own)."""
    get_method(cfg.method.name).check(cfg)
    check_accelerator_options(cfg)
    if cfg.deepspeed.name != "none":
        require("deepspeed", f"deepspeed={cfg.deepspeed.name}")
    if "8bit" in cfg.trainer.optim:
        require(BITSANDBYTES, f"trainer.optim={cfg.trainer.optim}")
    if cfg.deepspeed.name != "none" and "LOCAL_RANK" not in os.environ:
        # without a launcher DeepSpeed looks for MPI to find its ranks and fails with an import error
        raise ConfigError(f"deepspeed={cfg.deepspeed.name}: needs a launcher that starts the ranks (accelerate launch "
                          f"--num_processes N -m tune.train ... deepspeed={cfg.deepspeed.name}), or deepspeed=none")


def check_resume_safety(cfg, checkpoint: str | None) -> None:
    """A plain resume reads tensors only (safetensors, torch.load with weights_only); DeepSpeed's checkpoint engine
    calls torch.load(weights_only=False) itself, so a planted pickle in global_stepN/ would run. Refused unless
    the user says the checkpoint is theirs."""
    if checkpoint and cfg.deepspeed.name != "none" and not cfg.trainer.trust_checkpoint_pickles:
        raise ConfigError(
            f"trainer.resume: resuming {checkpoint} under DeepSpeed unpickles its state files, which runs "
            "any code planted in them; add trainer.trust_checkpoint_pickles=true if you wrote this checkpoint"
        )


def check_accelerator_options(cfg) -> None:
    """GPU-only options on a machine without one, or their packages missing: one line each."""
    import importlib.util

    t, attn = cfg.trainer, cfg.model.attn_implementation
    if t.use_liger_kernel:
        if not _cuda():
            raise ConfigError(
                "trainer.use_liger_kernel=true: Liger's kernels are Triton GPU kernels; this machine has "
                "no GPU (set trainer.use_liger_kernel=false)"
            )
        if importlib.util.find_spec("liger_kernel") is None:
            raise ConfigError("trainer.use_liger_kernel=true: liger-kernel is not installed (pip install liger-kernel)")
    if attn and attn.startswith("flash_attention"):
        if not _cuda():
            raise ConfigError(
                f"model.attn_implementation={attn}: FlashAttention runs on GPUs only (use sdpa, the default, on CPU)"
            )
        if importlib.util.find_spec("flash_attn") is None and attn == "flash_attention_2":
            raise ConfigError(
                "model.attn_implementation=flash_attention_2: flash-attn is not installed "
                "(pip install flash-attn --no-build-isolation), or use sdpa"
            )


def build_model(cfg, precision: str, tokenizer=None, added_tokens=(), model_path: str | None = None, stop_strings=()):
    """The model with the method applied; embeddings grown for tokens added to the tokenizer, their rows trainable."""
    import torch

    method = get_method(cfg.method.name)
    dtype = compute_dtype(precision)
    # The checkpoint's storage dtype never decides the training dtype (transformers 5 reads dtype=None as "the
    # checkpoint's"): full/freeze keep fp32 master weights and autocast computes; adapters load the frozen base
    # in the compute dtype.
    load_dtype = torch.float32 if method.KEEP_FP32_MASTER else dtype
    kwargs = method.load_kwargs(cfg.method, dtype)
    path = model_path or resolve_model_path(cfg.model)
    log(
        start_line(
            path,
            method.describe(cfg.method, precision_name(load_dtype)),
            precision,
            autocast=method.KEEP_FP32_MASTER,
            given=cfg.model.name_or_path,
        )
    )
    model = load_model(cfg.model, torch_dtype=load_dtype, path=path, **kwargs)
    model.config.use_cache = False  # training: no KV cache (needed for packed masks and checkpointing)
    new_ids = tokenizer.convert_tokens_to_ids(list(added_tokens)) if added_tokens else []
    if tokenizer is not None and grow_embeddings(model, len(tokenizer)):
        log(f"tune: embeddings resized to {len(tokenizer)} rows for the added tokens")
    if tokenizer is not None:  # every save (checkpoints, final, export) stops at the template's end of turn
        set_generation_stops(model, tokenizer, stop_strings)
    model = method.apply(model, cfg.method, cfg.trainer, new_token_ids=new_ids)
    note = method.initialise(model, cfg.method, tokenizer) if tokenizer is not None else None
    if note:
        log(f"tune: method={cfg.method.name}: {note}")
    trainable, total = count_parameters(model)
    log(
        f"tune: method={cfg.method.name}: trainable parameters {trainable:,} of {total:,} "
        f"({100 * trainable / max(total, 1):.2f}%)"
    )
    return model


def start_line(path: str, weights: str, precision: str, autocast: bool, given: str | None = None) -> str:
    """Which dtype the checkpoint stores, which holds the weights in training (``weights``: the method's words)
    and which computes."""
    import torch

    from ..models.load import checkpoint_dtype, describe_source

    compute = f"compute {precision}" + (" (autocast)" if precision != "fp32" and autocast else "")
    matmul = torch.get_float32_matmul_precision()
    if precision == "fp32" and matmul == "medium":
        units = cpu_bf16_units() if not torch.cuda.is_available() else None
        compute += " with bf16 matmul math" + (f" (oneDNN on this CPU's {units}; trainer.matmul_precision=highest "
                                               "for plain fp32)" if units else "")
    elif precision == "fp32" and matmul == "high":
        compute += " with TF32 matmul math"
    elif precision == "fp32" and resolve_matmul_precision("auto", precision) == "medium":  # only the width said no
        width = hidden_size(path)
        if width is not None and width < BF16_MATH_MIN_HIDDEN:
            compute += (f" (bf16 matmul math pays from hidden {BF16_MATH_MIN_HIDDEN} on, this model is {width} "
                        "wide; trainer.matmul_precision=medium for it)")
    return (
        f"tune: model {describe_source(path, given)}: stored {checkpoint_dtype(path) or 'in an unrecorded dtype'}; "
        f"{weights}; {compute}"
    )


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


def save_final(trainer, cfg, data: TrainData, s: Setup) -> str:
    """Model (or adapter) + tokenizer with the training template as chat_template + tune.json, atomically."""
    tokenizer, renderer = data.tokenizer, data.renderer
    run = RunDir(s.output_dir)
    final, tmp = run.model, run.model_tmp
    trainer.save_model(tmp)  # gathers ZeRO-3 shards; peft models save the adapter
    if trainer.is_world_process_zero():
        if cfg.template.name != "tokenizer":
            tokenizer.chat_template = to_jinja(renderer)
        tokenizer.save_pretrained(tmp)
        run_meta(cfg, data.added_tokens, s.model_path, s.precision).write(tmp)  # last: it marks the save complete
        publish_dir(tmp, final)
    trainer.accelerator.wait_for_everyone()
    return final


def add_template_tokens(cfg, tokenizer, renderer) -> list[str]:
    """The template's control tokens the tokenizer lacks, added (or refused); checked against the method now,
    before anything heavy loads."""
    added = add_control_tokens(tokenizer, renderer.control_tokens, cfg.template.name, cfg.template.add_missing_tokens)
    if added:
        get_method(cfg.method.name).check_new_tokens(cfg, added)
        log(
            f"tune: template={cfg.template.name}: added {len(added)} control tokens the tokenizer lacked "
            f"({', '.join(added)}); their embedding rows train with the model"
        )
    return added


@dataclass
class Setup:
    """What every later step needs: the model's folder, precision, output folder and TrainingArguments."""

    model_path: str
    precision: str
    output_dir: str
    args: Any
    resume_from: str | None = None  # the checkpoint-N folder to resume from
    lock: Any = None  # the output folder's lock, held while this process lives
    created_dir: bool = False  # this run made the output folder (removed again if the start fails)
    matmul: str = "highest"  # torch's fp32 matmul precision for the run (trainer.matmul_precision)


@dataclass
class TrainData:
    tokenizer: Any
    renderer: Any
    added_tokens: list
    train: Any
    eval: Any
    collator: Any
    summary: Any


def setup(cfg) -> Setup:
    """Checks, the model folder (the tiny model is built here, before any process group exists), precision,
    the output folder every rank agrees on, and the distributed backend."""
    from transformers import set_seed

    check_compatibility(cfg)
    if cfg.model.name_or_path in (None, "tiny") and get_method(cfg.method.name).ADAPTER:
        log(
            f"tune: method={cfg.method.name} on the embedded tiny model: it starts from random weights, which an "
            "adapter cannot teach (the loss will barely move); use method=full (as recipe=demo does) or a pretrained "
            "model.name_or_path"
        )
    plan = plan_resume(cfg.trainer.resume, cfg.trainer.output_dir, cfg.run_name)
    check_resume_safety(cfg, plan.checkpoint)
    model_path = resolve_model_path(cfg.model)
    precision = resolve_precision(cfg.trainer.precision)
    output_dir = plan.output_dir or default_output_dir(cfg)
    args = training_arguments(cfg, output_dir, precision, has_eval=bool(cfg.data.val_size))
    # ranks start at slightly different times, so their time stamps can differ: rank 0's choice wins
    args.output_dir = output_dir = rank_zero_value(output_dir)
    state = args.distributed_state
    threads = set_threads(cfg.trainer.threads)
    log(
        f"distributed: world_size={state.num_processes} backend={state.backend or 'none'} "
        f"type={state.distributed_type.value if hasattr(state.distributed_type, 'value') else state.distributed_type} "
        f"threads={threads} per process"
    )
    if cfg.deepspeed.name != "none":
        # ZeRO-3 builds the model inside deepspeed.zero.Init, which reads the world size from DeepSpeed's own
        # comm layer: hand it the process group accelerate already made (on CPU it would otherwise see 1).
        import deepspeed

        deepspeed.init_distributed(dist_backend=state.backend or ("nccl" if _cuda() else "gloo"))
    set_seed(cfg.trainer.seed)
    lock, created = None, not os.path.exists(output_dir)
    if is_main_process():
        occupied = holds_a_run(output_dir) if plan.checkpoint is None else None
        if occupied and str(cfg.trainer.resume).lower() == "auto" and not RunDir(output_dir).holds_finished_run():
            occupied = None  # resume=auto on a run killed before its first complete checkpoint: start it over
        if occupied:
            raise ConfigError(
                f"trainer.output_dir: {output_dir!r} already holds {occupied}; choose another "
                f"trainer.output_dir, or trainer.resume={output_dir} to continue it"
            )
        lock = lock_output_dir(output_dir)
        if plan.checkpoint:
            for line in compare_resumed_config(cfg, output_dir):
                log(line)
    if plan.message:
        log(plan.message)
    matmul = resolve_matmul_precision(cfg.trainer.matmul_precision, precision, hidden_size(model_path))
    return Setup(model_path, precision, output_dir, args, plan.checkpoint, lock, created, matmul)


def set_threads(threads: int | None) -> int:
    """trainer.threads, when set, is torch's intra-op thread count in this process; returns the count in use."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def prepare_data(cfg, model_path: str) -> TrainData:
    """Tokenizer (with the template's missing control tokens), then data/prepare.py: records -> tokens+labels
    -> split, packing and the collator."""
    tokenizer = load_tokenizer(cfg.model, model_path)
    renderer = get_template(cfg.template.name, tokenizer)
    if cfg.model.name_or_path not in (None, "tiny"):  # the tiny model's template only exists for template=tokenizer
        difference = own_template_difference(renderer, tokenizer)
        if difference:
            log(difference)
    added = add_template_tokens(cfg, tokenizer, renderer)
    data = prepare(cfg.data, tokenizer, renderer, seed=cfg.trainer.seed, max_steps=cfg.trainer.max_steps, log=log)
    return TrainData(tokenizer, renderer, added, data.train, data.eval, data.collator, data.summary)


def train_model(cfg, s: Setup, data: TrainData, model):
    """transformers.Trainer with tune's loss and callbacks; resumes as trainer.resume says. Returns the trainer
    and the metrics (with eval loss and perplexity when data is held out)."""
    metrics_path = RunDir(s.output_dir).metrics
    # TuneTrainer computes the loss itself; compute_loss_func still tells transformers versions without
    # loss_is_scaled_for_ga that the loss is already normalised over the step
    trainer = TuneTrainer(
        model=model,
        args=s.args,
        train_dataset=data.train,
        eval_dataset=data.eval,
        data_collator=data.collator,
        processing_class=data.tokenizer,
        compute_loss_func=causal_lm_loss,
        callbacks=[MetricsFileCallback(metrics_path), CheckpointMarkerCallback(cfg.trainer.save_total_limit)],
        loss_chunk_tokens=cfg.trainer.loss_chunk_tokens,
        group_by_length=cfg.data.group_by_length,
        peak_tflops=cfg.trainer.peak_tflops,
        compute_dtype=compute_dtype(s.precision),
    )
    if is_main_process():
        _trim_metrics(metrics_path, step_of(s.resume_from))
    metrics = dict(trainer.train(resume_from_checkpoint=s.resume_from).metrics)
    metrics.update(trainer.throughput_summary())
    if cfg.data.streaming:
        for line in data.summary.lines():
            log(line.replace("tune data: records", "tune data (streamed so far): records"))
    if data.eval is not None:
        ev = trainer.evaluate()
        ev["eval_perplexity"] = perplexity(ev["eval_loss"])
        metrics.update(ev)
    check_ranks_agree(trainer, cfg)
    return trainer, metrics


def _remove_if_unused(s: Setup) -> None:
    """A start that failed before training leaves no folder behind (only tune's lock file was written)."""
    import shutil

    if s.created_dir and is_main_process() and RunDir(s.output_dir).only_start_files():
        shutil.rmtree(s.output_dir, ignore_errors=True)


def summary_line(metrics: dict) -> str:
    """The run's last line: loss, trained tokens/s, padding and MFU over the whole run."""
    parts = [f"train_loss {metrics['train_loss']:.4f}"] if "train_loss" in metrics else []
    if "tokens_per_second" in metrics:
        parts.append(f"{metrics['tokens_per_second']:,.0f} trained tokens/s")
        parts.append(f"padding {100 * metrics['padding_fraction']:.1f}%")
    if "mfu" in metrics:
        parts.append(mfu_text(metrics))
    if "peak_memory_gb" in metrics:
        parts.append(f"peak memory {metrics['peak_memory_gb']:.2f} GB")
    if "eval_loss" in metrics:
        parts.append(f"eval_loss {metrics['eval_loss']:.4f} (perplexity {metrics['eval_perplexity']:.2f})")
    return "tune: done: " + ", ".join(parts)


def save_run_config(cfg, output_dir: str) -> None:
    from omegaconf import OmegaConf

    if is_main_process():
        os.makedirs(output_dir, exist_ok=True)
        OmegaConf.save(cfg, RunDir(output_dir).config, resolve=True)


def resolve_memory(cfg, s: Setup, data: TrainData):
    """trainer.gradient_checkpointing (true, false or auto) checked against the memory estimate and resolved to
    a boolean in the config, before the model loads and anything reads it (train/memory.py); the start line
    says the estimate and the choice. ConfigError (one line, settings that fit) when nothing fits."""
    import torch

    from .memory import RunShape, frozen_bytes_per_parameter, model_facts, optimizer_bytes, plan_memory
    from ..data.batching import example_lengths

    t, method = cfg.trainer, get_method(cfg.method.name)
    try:
        facts = model_facts(s.model_path, cfg.method.name, cfg.method, cfg.model.trust_remote_code)
    except ConfigError:
        raise
    except Exception as err:  # a model the meta-device count cannot build: train as asked, without an estimate
        on = t.gradient_checkpointing is True
        _decide_checkpointing(
            t,
            s,
            on,
            f"tune: memory: no estimate for this model ({type(err).__name__}: "
            f"{str(err).splitlines()[0][:120]}); activation checkpointing "
            f"{'on' if on else 'off'}",
        )
        return None
    seq = cfg.data.max_length if cfg.data.streaming else max(example_lengths(data.train), default=1)
    held = 4 if method.KEEP_FP32_MASTER or s.precision == "fp32" else 2
    four_bit = method.quantization_bits(cfg.method) == 4
    ds = _as_dict(cfg.deepspeed.config) if cfg.deepspeed.name != "none" else {}
    shape = RunShape(
        micro_batch=t.per_device_train_batch_size,
        seq_len=seq,
        accumulation=t.gradient_accumulation_steps,
        checkpointing=False,
        frozen_bytes=frozen_bytes_per_parameter(facts, held, four_bit),
        act_bytes=4 if s.precision == "fp32" else 2,
        optimizer_bytes=optimizer_bytes(t.optim),
        zero_stage=int((ds.get("zero_optimization") or {}).get("stage", 0) or 0),
        world_size=max(s.args.world_size, 1),
        four_bit=four_bit,
    )
    plan = plan_memory(
        facts,
        shape,
        t.gradient_checkpointing,
        method.CHECKPOINTING,
        t,
        int(os.environ.get("LOCAL_WORLD_SIZE", 1)),
        torch.cuda.is_available(),
    )
    _decide_checkpointing(t, s, plan.checkpointing, plan.line)
    return plan


def _decide_checkpointing(t, s: Setup, on: bool, line: str) -> None:
    """trainer.gradient_checkpointing resolved: in the config (methods read it) and in TrainingArguments."""
    t.gradient_checkpointing = on
    set_activation_checkpointing(s.args, on)
    log(line)


def _as_dict(node) -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else dict(node or {})


def run_training(cfg) -> TrainResult:
    """Train as the config says and return where it went, the final metrics, the model and tokenizer."""
    s = setup(cfg)
    with matmul_precision(s.matmul):  # process-wide: restored when the run ends (the notebook API's process goes on)
        return _train_from_setup(cfg, s)


def _train_from_setup(cfg, s: Setup) -> TrainResult:
    try:
        data = prepare_data(cfg, s.model_path)
        memory = resolve_memory(cfg, s, data)
        model = build_model(
            cfg, s.precision, data.tokenizer, data.added_tokens, s.model_path, data.renderer.stop_strings
        )
    except BaseException:
        _remove_if_unused(s)
        raise
    save_run_config(cfg, s.output_dir)
    trainer, metrics = train_model(cfg, s, data, model)
    metrics.update(memory.metrics() if memory else {})
    final = save_final(trainer, cfg, data, s)
    if is_main_process():  # after the final evaluation, so its row is on the curve
        run = RunDir(s.output_dir)
        plot_loss(run.metrics, run.loss_plot)
        log(f"tune: saved {final}")
        log(summary_line(metrics))
    model = trainer.model
    model.config.use_cache = True
    return TrainResult(output_dir=s.output_dir, model_dir=final, metrics=metrics, model=model, tokenizer=data.tokenizer)


def train_job(cfg) -> int:
    """`tune train` / `python -m tune.train` with the composed config: this process is the job, so it leaves the
    process group with the others when done."""
    run_training(cfg)
    leave_process_group()
    return 0
