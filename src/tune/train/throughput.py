"""How hard training works the machine: trained tokens/s, padding fraction and MFU (model FLOPs utilisation).

Model FLOPs per micro-batch, PaLM's convention (training = 3 x forward, recomputation not counted):
  6 x N_body x real tokens                      (every weight matmul of the decoder layers)
+ 6 x hidden x vocab x labelled positions        (the LM head, which tune applies only where a label follows)
+ 12 x layers x attention width x sum(len_i^2)   (scores and values; each example attends to itself only)
That convention (``mfu_6n``) counts weight gradients that a frozen weight never gets. ``mfu`` counts what is
computed: a trained weight costs 6 FLOPs per token (forward, input gradient, weight gradient), a frozen one 4
(forward and the input gradient that reaches the trained weights below it), an adapter (LoRA's A and B) 6 per
weight; the two agree for a full fine-tune.
The peak: ``trainer.peak_tflops`` when given; on a GPU, its dense bf16/fp16 peak from a small table; on CPU, the
best matmul rate of this CPU at this thread count and dtype ever measured here (cpu_peak_flops).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import torch

from ..paths import cache_dir

# Dense (not sparse) bf16 tensor-core peaks in TFLOPs from the vendors' data sheets; fp16 for GPUs without
# bf16. Matched by substring of torch.cuda.get_device_name(), first match wins (longer names first).
GPU_PEAK_TFLOPS = (
    ("H200", 989.0), ("H100 PCIe", 756.0), ("H100", 989.0), ("H800", 989.0), ("GH200", 989.0),
    ("B200", 2250.0), ("A100", 312.0), ("A800", 312.0), ("L40S", 362.0), ("L40", 181.0), ("A6000", 155.0),
    ("A10G", 70.0), ("A10", 125.0), ("L4", 121.0), ("RTX 4090", 165.0), ("RTX 3090", 71.0), ("V100", 125.0),
    ("T4", 65.0),
)


@dataclass
class ModelShape:
    body_params: int        # weights multiplied per token outside embeddings and the LM head
    hidden: int
    vocab: int
    layers: int
    attention_width: int    # heads x head_dim
    trained_body: int | None = None  # body weights that get a weight gradient (None: all of them)
    adapter_params: int = 0          # trained matmul weights beside the body's (LoRA's A and B)
    head_trained: bool = True

    def flops(self, real_tokens: float, labelled: float, sum_sq_lengths: float) -> float:
        """The 6N convention: every weight counted as trained."""
        return (6 * self.body_params * real_tokens + 6 * self.hidden * self.vocab * labelled
                + 12 * self.layers * self.attention_width * sum_sq_lengths)

    @property
    def counts_frozen(self) -> bool:
        return self.trained_body not in (None, self.body_params) or bool(self.adapter_params) or not self.head_trained

    def computed_flops(self, real_tokens: float, labelled: float, sum_sq_lengths: float) -> float:
        """What is computed: 6 per trained weight and token, 4 per frozen one."""
        trained = self.body_params if self.trained_body is None else self.trained_body
        per_token = 6 * trained + 4 * (self.body_params - trained) + 6 * self.adapter_params
        return (per_token * real_tokens + (6 if self.head_trained else 4) * self.hidden * self.vocab * labelled
                + 12 * self.layers * self.attention_width * sum_sq_lengths)


def model_shape(config) -> ModelShape | None:
    """From a decoder config (Llama, Qwen2, Mistral, Phi-3, ChatGLM-style fields); None if it lacks them."""
    c = config.get_text_config() if hasattr(config, "get_text_config") else config
    h = getattr(c, "hidden_size", None)
    layers = getattr(c, "num_hidden_layers", None) or getattr(c, "num_layers", None)
    inter = getattr(c, "intermediate_size", None) or getattr(c, "ffn_hidden_size", None)
    heads = getattr(c, "num_attention_heads", None)
    if not (h and layers and inter and heads):
        return None
    head_dim = getattr(c, "head_dim", None) or h // heads
    kv = getattr(c, "num_key_value_heads", None) or getattr(c, "multi_query_group_num", None) or heads
    attn = h * heads * head_dim * 2 + h * kv * head_dim * 2        # q, o; k, v
    mlp = 3 * h * inter                                             # gate, up, down (SwiGLU)
    return ModelShape(layers * (attn + mlp), h, int(getattr(c, "vocab_size", 0) or 0), layers, heads * head_dim)


def _numel(p) -> int:
    return int(getattr(p, "ds_numel", 0) or p.numel())  # ZeRO-3 leaves a partitioned parameter empty


def _is_matrix(p) -> bool:
    return len(getattr(p, "ds_shape", None) or p.shape) >= 2


OUTSIDE_BODY = ("embed", "lm_head", "wte", "prefix_encoder", "output_layer")


def with_training(shape: ModelShape | None, model) -> ModelShape | None:
    """``shape`` with what ``model`` trains: its body weights that require a gradient, its adapters' (LoRA)
    weights, and whether the LM head is trained (frozen in LoRA and P-Tuning, a tied one with the embedding)."""
    if shape is None:
        return None
    trained_body = adapter = 0
    for name, p in model.named_parameters():
        if not p.requires_grad or not _is_matrix(p) or any(k in name for k in OUTSIDE_BODY):
            continue
        if "lora_" in name:
            adapter += _numel(p)
        else:
            trained_body += _numel(p)
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    head_trained = bool(head is not None and head.weight.requires_grad)
    return ModelShape(shape.body_params, shape.hidden, shape.vocab, shape.layers, shape.attention_width,
                      min(trained_body, shape.body_params), adapter, head_trained)


def batch_counts(inputs: dict, labels: torch.Tensor) -> tuple[int, int, int, int]:
    """(positions, real tokens, labelled positions, sum of squared example lengths) of one micro-batch,
    padded (attention_mask) or packed (position_ids restart at 0 per example; the tail is padding)."""
    ids = inputs["input_ids"]
    positions = ids.numel()
    labelled = int(labels[:, 1:].ne(-100).sum())
    mask = inputs.get("attention_mask")
    if mask is not None:
        lengths = mask.sum(dim=1)
    else:  # packed: an example starts where position_ids is 0; positions from num_real_tokens on are padding
        pos = inputs.get("position_ids")
        pos = pos if pos is not None else torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
        real_rows = inputs.get("num_real_tokens")
        real = (torch.arange(ids.shape[1], device=ids.device) < real_rows.to(ids.device)[:, None]
                if real_rows is not None else torch.ones_like(ids, dtype=torch.bool))
        example = torch.cumsum(pos.eq(0).flatten(), 0)  # one id per example, across rows
        lengths = torch.bincount(example[real.flatten()])
    return positions, int(lengths.sum()), labelled, int(lengths.pow(2).sum())


class ThroughputMeter:
    """Counts micro-batches between log rows (and over the run) and turns them into log fields."""

    def __init__(self, shape: ModelShape | None, peak_flops: float | None):
        self.shape = shape
        self.peak_flops = peak_flops
        self.window = torch.zeros(4, dtype=torch.float64)   # positions, real, labelled, sum len^2
        self.total = torch.zeros(4, dtype=torch.float64)
        self.window_start = None
        self.total_seconds = 0.0

    def add(self, counts) -> None:
        now = time.perf_counter()
        if self.window_start is None:
            self.window_start = now
        self.window += torch.tensor(counts, dtype=torch.float64)

    def fields(self, reduce=None) -> dict:
        """tokens_per_second, padding_fraction, mfu over the window since the last call (summed over ranks by
        ``reduce``); the window restarts."""
        if self.window_start is None:
            return {}
        seconds = max(time.perf_counter() - self.window_start, 1e-9)
        counts = reduce(self.window.clone()) if reduce else self.window.clone()
        self.total += counts
        self.total_seconds += seconds
        self.window.zero_()
        self.window_start = time.perf_counter()
        return self._fields(counts, seconds)

    def summary(self) -> dict:
        return self._fields(self.total, self.total_seconds) if self.total_seconds else {}

    def _fields(self, counts, seconds: float) -> dict:
        positions, real, labelled, sq = (float(x) for x in counts)
        out = {"tokens_per_second": round(real / seconds, 1),
               "padding_fraction": round(1 - real / positions, 4) if positions else 0.0}
        if self.shape is not None and self.peak_flops:
            out["mfu"] = round(self.shape.computed_flops(real, labelled, sq) / seconds / self.peak_flops, 5)
            if self.shape.counts_frozen:
                out["mfu_6n"] = round(self.shape.flops(real, labelled, sq) / seconds / self.peak_flops, 5)
        return out


def mfu_text(fields: dict) -> str:
    """"MFU 41.2%", with the 6N convention's figure beside it where frozen weights make the two differ."""
    text = f"MFU {100 * fields['mfu']:.1f}%"
    return text + (f" (6N convention {100 * fields['mfu_6n']:.1f}%)" if "mfu_6n" in fields else "")


def gpu_peak_flops(name: str) -> float | None:
    for key, tflops in GPU_PEAK_TFLOPS:
        if key.lower() in name.lower():
            return tflops * 1e12
    return None


def _cache_file() -> str:
    return os.path.join(cache_dir(), "cpu_peak_flops.json")


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()


PEAK_SIZES, PEAK_REPEATS = (1024, 2048), 5  # fixed, so that figures measured at different times compare


def measure_cpu_peak_flops(dtype: torch.dtype, sizes=PEAK_SIZES, repeats: int = PEAK_REPEATS) -> float:
    """The best rate of square matmuls (best of several sizes and repeats: a busy moment only lowers some)."""
    rates = []
    for size in sizes:
        a = torch.randn(size, size, dtype=dtype)
        b = torch.randn(size, size, dtype=dtype)
        a @ b  # warm-up
        best = min(_timed(a, b) for _ in range(repeats))
        rates.append(2 * size ** 3 / best)
    return max(rates)


def _timed(a, b) -> float:
    t = time.perf_counter()
    a @ b
    return time.perf_counter() - t


def _read_cache(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def cpu_peak_key(dtype: torch.dtype) -> str:
    """CPU, threads, dtype and, for fp32, the matmul math in use (bf16 math under matmul precision "medium")."""
    key = f"{_cpu_name()}|threads={torch.get_num_threads()}|{str(dtype).replace('torch.', '')}"
    matmul = torch.get_float32_matmul_precision()
    return key + (f"|matmul={matmul}" if dtype == torch.float32 and matmul != "highest" else "")


def cpu_peak_flops(dtype: torch.dtype, remeasure: bool = False, at_least: float = 0.0) -> float:
    """The best matmul rate of this CPU at this thread count and dtype ever seen here.

    Measured the first time and cached; ``remeasure`` measures again (a run that computed faster than the cached
    figure proves it low) and ``at_least`` is such a run's own rate. The cache keeps the highest figure: load from
    other jobs only ever lowers a measurement, so the best one seen is the nearest to the machine's peak.
    """
    key = cpu_peak_key(dtype)
    path = _cache_file()
    cached = _read_cache(path)
    if key not in cached or remeasure:
        best = max(float(cached.get(key, 0.0)), measure_cpu_peak_flops(dtype), at_least)
        cached = _read_cache(path)  # again: another run may have written a higher figure meanwhile
        cached[key] = max(best, float(cached.get(key, 0.0)))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(cached, f, indent=1)
        os.replace(tmp, path)
    return float(cached[key])


def peak_flops(configured_tflops: float | None, dtype: torch.dtype) -> tuple[float | None, str]:
    """(peak FLOP/s, where it came from)."""
    if configured_tflops:
        return configured_tflops * 1e12, "trainer.peak_tflops"
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name()
        peak = gpu_peak_flops(name)
        return peak, (f"{name} data sheet" if peak else f"{name} is not in tune's table: set trainer.peak_tflops")
    return None, "cpu"  # measured lazily (cpu_peak_flops), so a run does not pay for it at start
