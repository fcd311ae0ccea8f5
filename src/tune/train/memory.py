"""How much memory a training run will take, known before its first step, and what tune does with it:
``trainer.gradient_checkpointing=auto`` turns activation checkpointing on only when the run would not fit
without it, and a run that fits no way is refused with one line that names settings that would fit.

The kernel's OOM killer gives no exception to catch (HF's ``auto_find_batch_size`` never sees it on a CPU),
so this is decided up front from what tune knows once the data is prepared: the model's shape, the method's
trainable parameters (counted on a weightless copy of the model on the meta device, with the method applied),
the precision, the optimiser, the micro-batch and the longest batch the data makes.

The terms, in bytes (fp32 = 4 per value; bf16/fp16 = 2):
- weights: trainable parameters in fp32; the frozen base in its held dtype (fp32 master copy for full/freeze,
  the compute dtype for adapters, about 0.53 bytes per weight for a 4-bit base: nf4 plus its block scales);
- gradients (fp32, one per trainable value) and optimiser states (AdamW: two fp32 moments; 8-bit AdamW: two
  bytes); ZeRO-2 divides gradients and states by the ranks, ZeRO-3 the weights too;
- activations saved for backward per token and decoder layer, counted for a Llama-style block (RMSNorm in
  fp32, SDPA without the attention matrix, SwiGLU): 10h + 4i values (two norms 3h each, attention's q, k, v
  and output 4h with GQA's heads expanded, the MLP's gate, up, activation and product 4i), plus, per LoRA
  module with dropout, its dropped-out input and mask (ACTIVATION_PER_ADAPTED_INPUT values per input
  feature); with activation checkpointing, what each layer keeps (CHECKPOINTED_LAYER_HIDDENS x h) plus one
  layer's activations recomputed;
- the labelled-only loss: one chunk of fp32 logits (tune/loss.py) with its softmax and gradient (3 copies);
- a fixed WORKSPACE for autograd and the allocator, counted with the activations;
- the process itself: what this process holds already when the estimate is made (libraries, the prepared
  data; CPU only: on a GPU the device holds only the model's tensors).
The coefficients were checked against measured peaks (benchmarks/memory_estimate.py, benchmarks/README.md).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import ConfigError
from .memory_meter import GIB, available_bytes, resident_bytes

# per input feature of a LoRA module with dropout: the dropped-out copy, its mask, and peft's intermediate
# copies (calibrated on SmolLM2-135M; see the module docstring)
ACTIVATION_PER_ADAPTED_INPUT = 3.0
# values per token a checkpointed layer keeps (its input, and what non-reentrant checkpointing holds beside it:
# measured ~5 hidden sizes on SmolLM2-135M, not the 1 the input alone would be)
CHECKPOINTED_LAYER_HIDDENS = 5
# with a bitsandbytes 4-bit base (QLoRA) on CPU, checkpointing was measured to keep ~65% of the activations, in
# proportion to tokens (SmolLM2-135M, 1024 and 2048 tokens per micro-batch); the cause is not found yet
FOUR_BIT_CHECKPOINTED_SHARE = 0.65
OPTIMIZER_BYTES = {"8bit": 2, "sgd": 0, "adafactor": 1}   # per trainable value, by a substring of trainer.optim
FOUR_BIT_BYTES = 0.53
WORKSPACE = 24 * 2 ** 20  # autograd's and the allocator's own bytes during a step (measured on the tiny model)


@dataclass(frozen=True)
class ModelFacts:
    """What the estimate needs from the model and the method, read without loading a weight."""
    layers: int
    hidden: int
    intermediate: int
    vocab: int
    total: int              # parameters
    trainable: int
    layer_linear: int       # parameters of the decoder layers' linear weights (what a 4-bit base quantises)
    adapted_inputs: int     # input features of LoRA modules with dropout, per layer


@dataclass(frozen=True)
class RunShape:
    """The run's settings that decide memory; the suggestions change these."""
    micro_batch: int
    seq_len: int            # the longest batch's length (padded or packed)
    accumulation: int
    checkpointing: bool
    frozen_bytes: float     # per frozen parameter
    act_bytes: int          # per activation value
    optimizer_bytes: int    # per trainable value
    zero_stage: int
    world_size: int
    four_bit: bool = False  # a bitsandbytes 4-bit base


@dataclass(frozen=True)
class MemoryEstimate:
    weights: float
    gradients: float
    optimizer: float
    activations: float
    logits: float
    process: float

    @property
    def total(self) -> float:
        return self.process + self.weights + max(self.gradients + self.activations + self.logits,
                                                 self.gradients + self.optimizer * 1.5) + self.optimizer

    def parts(self) -> str:
        names = ("process", "weights", "gradients", "optimizer", "activations", "logits")
        return ", ".join(f"{n} {getattr(self, n) / GIB:.2f}" for n in names)


def estimate(m: ModelFacts, r: RunShape) -> MemoryEstimate:
    """The peak over a step: backward (everything saved for it) or the optimiser step (states and their
    temporaries), whichever is larger; ``process`` is left 0 for the caller to fill in."""
    frozen = (m.total - m.trainable)
    weights = m.trainable * 4 + frozen * r.frozen_bytes
    grads, states = m.trainable * 4, m.trainable * r.optimizer_bytes
    if r.zero_stage >= 2:
        grads, states = grads / r.world_size, states / r.world_size
    if r.zero_stage >= 3:
        weights = weights / r.world_size
    tokens = r.micro_batch * r.seq_len
    per_layer = 10 * m.hidden + 4 * m.intermediate + ACTIVATION_PER_ADAPTED_INPUT * m.adapted_inputs
    if r.checkpointing and r.four_bit:
        saved = tokens * m.layers * per_layer * FOUR_BIT_CHECKPOINTED_SHARE
    elif r.checkpointing:
        saved = tokens * (m.layers * CHECKPOINTED_LAYER_HIDDENS * m.hidden + per_layer)
    else:
        saved = tokens * m.layers * per_layer
    saved += tokens * m.hidden * 4  # embeddings' output, the final norm and its input
    from ..loss import CHUNK_ELEMENTS
    chunk = min(tokens * m.vocab, CHUNK_ELEMENTS)
    return MemoryEstimate(weights, grads, states, saved * r.act_bytes + WORKSPACE, chunk * 4 * 3, 0.0)


def model_facts(model_path: str, method_name: str, method_cfg, trust_remote_code: bool = False) -> ModelFacts:
    """Counts from a weightless copy of the model (meta device) with the method applied."""
    from types import SimpleNamespace

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from ..methods import count_parameters, get_method

    config = AutoConfig.from_pretrained(model_path, trust_remote_code=trust_remote_code)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)
        # checkpointing is not decided yet (this estimate decides it); it changes no parameter count
        model = get_method(method_name).apply(model, method_cfg, SimpleNamespace(gradient_checkpointing=False))
    trainable, total = count_parameters(model)
    text = getattr(config, "text_config", config)
    layers = text.num_hidden_layers
    layer_linear = sum(mod.weight.numel() for name, mod in model.named_modules()
                       if isinstance(mod, torch.nn.Linear) and ".layers." in name and "lora_" not in name)
    adapted = sum(mod.in_features for mod in model.modules()
                  if hasattr(mod, "lora_dropout") and hasattr(mod, "in_features")
                  and any(not isinstance(d, torch.nn.Identity) for d in mod.lora_dropout.values()))
    return ModelFacts(layers, text.hidden_size, getattr(text, "intermediate_size", 4 * text.hidden_size),
                      text.vocab_size, total, trainable, layer_linear, adapted // max(layers, 1))


@dataclass
class MemoryPlan:
    estimate: MemoryEstimate
    checkpointing: bool
    line: str

    def metrics(self) -> dict:
        """The estimate beside the measured peak (train metrics): the total, and the growth over what the
        process holds once the model is loaded (the measured counterpart: peak - memory_before_training)."""
        e = self.estimate
        return {"memory_estimate_gb": round(e.total / GIB, 3),
                "memory_estimate_growth_gb": round((e.total - e.process - e.weights) / GIB, 3)}


def _limit(train_cfg, local_world_size: int) -> tuple[float | None, str]:
    if train_cfg.memory_limit_gb is not None:
        return train_cfg.memory_limit_gb * GIB, "trainer.memory_limit_gb"
    return available_bytes(local_world_size), "available"


def _fits(m: ModelFacts, r: RunShape, process: float, limit: float | None) -> tuple[bool, MemoryEstimate]:
    e = replace(estimate(m, r), process=process)
    return (limit is None or e.total <= limit), e


def suggestions(m: ModelFacts, r: RunShape, process: float, limit: float, can_checkpoint: bool) -> list[str]:
    """Settings that would fit, each re-estimated: checkpointing, a smaller micro-batch with more accumulation
    (the same optimiser step), a shorter data.max_length, QLoRA's 4-bit base."""
    out = []
    if can_checkpoint and not r.checkpointing and _fits(m, replace(r, checkpointing=True), process, limit)[0]:
        out.append("trainer.gradient_checkpointing=true")
    b, acc = r.micro_batch, r.accumulation
    while b > 1:
        b, acc = b // 2, acc * 2
        if _fits(m, replace(r, micro_batch=b, accumulation=acc, checkpointing=r.checkpointing or can_checkpoint),
                 process, limit)[0]:
            ck = " with activation checkpointing" if can_checkpoint and not r.checkpointing else ""
            out.append(f"trainer.per_device_train_batch_size={b} trainer.gradient_accumulation_steps={acc}{ck}")
            break
    length = r.seq_len
    while length > 64:
        length //= 2
        if _fits(m, replace(r, seq_len=length, checkpointing=r.checkpointing or can_checkpoint), process, limit)[0]:
            out.append(f"data.max_length={length}")
            break
    if not r.four_bit and can_checkpoint:  # QLoRA: LoRA's trainable share (~2%) on a 4-bit base
        q = replace(m, trainable=min(m.trainable, max(m.trainable // 50, 1)))
        if _fits(q, replace(r, frozen_bytes=FOUR_BIT_BYTES, checkpointing=True, four_bit=True), process, limit)[0]:
            out.append("method=qlora trainer.gradient_checkpointing=true")
    return out


def optimizer_bytes(optim: str) -> int:
    return next((b for key, b in OPTIMIZER_BYTES.items() if key in optim), 8)


def frozen_bytes_per_parameter(m: ModelFacts, held_bytes: int, four_bit: bool) -> float:
    """The frozen base's bytes per parameter: the held dtype, or a 4-bit base's decoder linears at 4 bits."""
    frozen = max(m.total - m.trainable, 1)
    if not four_bit:
        return held_bytes
    quantised = min(m.layer_linear, frozen)
    return (quantised * FOUR_BIT_BYTES + (frozen - quantised) * held_bytes) / frozen


def plan_memory(m: ModelFacts, r: RunShape, setting, can_checkpoint: bool, train_cfg,
                local_world_size: int, on_gpu: bool) -> MemoryPlan:
    """Resolve trainer.gradient_checkpointing (true, false or auto) against the estimate; ConfigError with the
    one line when the run cannot fit."""
    limit, source = _limit(train_cfg, local_world_size)
    process = 0.0 if on_gpu else float(resident_bytes())
    if setting == "auto":
        ok, e = _fits(m, replace(r, checkpointing=False), process, limit)
        checkpointing = not ok and can_checkpoint
        if checkpointing:
            ok, e = _fits(m, replace(r, checkpointing=True), process, limit)
    else:
        checkpointing = bool(setting)
        ok, e = _fits(m, replace(r, checkpointing=checkpointing), process, limit)
    have = f"{limit / GIB:.1f} GB {source}" if limit is not None else "an unknown amount available"
    if not ok:
        tries = suggestions(m, replace(r, checkpointing=checkpointing), process, limit, can_checkpoint)
        raise ConfigError(
            f"memory: this run needs about {e.total / GIB:.1f} GB at its peak ({e.parts()} GB; micro-batch "
            f"{r.micro_batch} x {r.seq_len} tokens, activation checkpointing {'on' if checkpointing else 'off'}) and "
            f"{have}; " + ("settings that fit: " + "; ".join(tries) if tries else "no setting tune knows fits: "
                            "use a smaller model or a machine with more memory")
            + " (trainer.memory_limit_gb=N sets the limit)")
    why = {"auto": " (auto: needed to fit)" if checkpointing else " (auto: fits without it)"}.get(setting, "")
    line = (f"tune: memory: estimate {e.total / GIB:.1f} GB of {have}; activation checkpointing "
            f"{'on' if checkpointing else 'off'}{why}")
    return MemoryPlan(e, checkpointing, line)
