"""Where a training step on a real model goes: tune's own `train` on SmolLM2-135M-Instruct (tests/smollm2.py
fetches it), steps profiled with torch.profiler after warm-up steps, the time grouped by what spends it.

Case s of benchmarks/train_throughput.py by default: ShareGPT-like conversations, max_length 1024, batch 4,
LoRA r 16 on every linear layer, the run train_throughput.py measures: tune's defaults otherwise (fp32 weights,
the matmul math trainer.matmul_precision=auto picks, no checkpointing, the labelled-only chunked loss). Prints the
attention implementation, the share of the profiled steps' CPU time per group (matmuls, attention, the loss's head and
cross-entropy, LoRA's dropout, the optimizer step, data loading and collation, the rest), and torch's table of
the largest operators by their own time.

    python benchmarks/profile_step.py [--method lora_all|lora_qv|full|qlora] [--data sharegpt|alpaca]
        [--max-length 1024] [--batch 4] [--steps 3] [--warmup 2] [--override trainer.x=y ...]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "src")]

from train_throughput import ALPACA, LORA, sharegpt_like, smollm2, tune_overrides  # noqa: E402

# operator (or record_function) name -> group; the first group whose words appear in the name takes it
GROUPS = [
    ("optimizer step", ("Optimizer.step", "Optimizer.zero_grad", "_foreach_", "adamw")),
    ("data loading and collation", ("DataLoader", "collate")),
    ("loss's cross-entropy (its head chunks are matmuls)", ("cross_entropy", "log_softmax", "nll_loss", "logsumexp")),
    ("attention", ("scaled_dot_product", "flash_attention", "efficient_attention")),
    ("LoRA dropout's random numbers", ("dropout", "bernoulli", "random_", "randint")),
    ("matmuls", ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear", "mkldnn")),
]


def group_of(name: str) -> str:
    low = name.lower()
    return next((g for g, words in GROUPS if any(w.lower() in low for w in words)), "the rest (elementwise, copies)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="lora_all", choices=["lora", "lora_qv", "lora_all", "full", "qlora"])
    parser.add_argument("--data", default="sharegpt", choices=["sharegpt", "alpaca"])
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3, help="steps profiled")
    parser.add_argument("--warmup", type=int, default=2, help="steps run before profiling")
    parser.add_argument("--override", nargs="*", default=[], help="more tune overrides (key=value)")
    a = parser.parse_args()

    import torch
    from torch.profiler import ProfilerActivity, profile
    from transformers import TrainerCallback

    from tune import compose, train
    from tune.train import run

    class Profiled(TrainerCallback):
        """Profiles steps warmup+1 .. warmup+steps of the real trainer."""

        def __init__(self):
            self.prof = profile(activities=[ProfilerActivity.CPU], record_shapes=False)
            self.model = None

        def on_step_begin(self, args, state, control, model=None, **kw):
            if state.global_step == a.warmup:
                self.model = model
                self.prof.__enter__()

        def on_step_end(self, args, state, control, **kw):
            if state.global_step == a.warmup + a.steps:
                self.prof.__exit__(None, None, None)

    profiled = Profiled()
    base_init = run.TuneTrainer.__init__

    def init(self, *args, **kw):  # the real trainer, with the profiling callback added
        kw["callbacks"] = [*kw.get("callbacks", []), profiled]
        base_init(self, *args, **kw)

    run.TuneTrainer.__init__ = init
    tmp = tempfile.mkdtemp()
    data = ALPACA
    if a.data == "sharegpt":
        data = os.path.join(tmp, "sharegpt_like.json")
        sharegpt_like(data)
    model = smollm2()
    cfg = compose(None, [*tune_overrides(model, data, a.data, a.max_length, a.method, a.warmup + a.steps, a.batch,
                                         os.path.join(tmp, "run")), *a.override])
    train(cfg)
    events = profiled.prof.key_averages()
    # own (self) CPU time per operator: each microsecond counted once, in the operator that spent it
    total = sum(e.self_cpu_time_total for e in events)
    groups: dict[str, float] = {}
    for e in events:
        groups[group_of(e.key)] = groups.get(group_of(e.key), 0.0) + e.self_cpu_time_total
    inner = getattr(profiled.model, "config", None)
    print(f"\nSmolLM2-135M-Instruct, {a.method} (r {LORA['r']}), {a.data} data, max_length {a.max_length}, batch "
          f"{a.batch}, {a.steps} steps profiled after {a.warmup}; torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads; attention: {getattr(inner, '_attn_implementation', '?')}; total own CPU time "
          f"{total / 1e6:.1f} s ({total / 1e6 / a.steps:.2f} s a step)")
    for name, t in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {name:36s} {t / 1e6:8.2f} s  {t / total:6.1%}")
    print(events.table(sort_by="self_cpu_time_total", row_limit=25))


if __name__ == "__main__":
    main()
