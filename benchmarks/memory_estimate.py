"""tune's memory estimate (train/memory.py) against the measured peak of the same run, for the models users
train here: the tiny default, a small Llama with Qwen2's 151k vocabulary (logits-heavy), and SmolLM2-135M
(LoRA, full, QLoRA; activation checkpointing off and on; two micro-batches). Every batch is max_length long
(long answers truncated), so the longest batch is every batch.

Each case runs `tune train` for two steps in its own process and prints the estimate and the measured peak,
as a total and as the growth over the post-load footprint (the peak minus what the process held when training
began), with their ratio. The target: every ratio within 0.75-1.25.

    python benchmarks/memory_estimate.py [--cases NAME ...] [--list]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

CASES = {  # name: (model, overrides)
    "tiny full 8x128": ("tiny", ["method=full", "data.max_length=128", "trainer.per_device_train_batch_size=8"]),
    "tiny full 32x128": ("tiny", ["method=full", "data.max_length=128", "trainer.per_device_train_batch_size=32"]),
    "151k-vocab lora 4x512": ("qwen2", ["method=lora", "data.max_length=512", "trainer.per_device_train_batch_size=4"]),
    "151k-vocab full 4x512": ("qwen2", ["method=full", "data.max_length=512", "trainer.per_device_train_batch_size=4"]),
    "smollm2 lora 2x512": ("smollm2", ["method=lora", "data.max_length=512", "trainer.per_device_train_batch_size=2"]),
    "smollm2 lora 4x512": ("smollm2", ["method=lora", "data.max_length=512", "trainer.per_device_train_batch_size=4"]),
    "smollm2 lora 4x512 ckpt": (
        "smollm2",
        [
            "method=lora",
            "data.max_length=512",
            "trainer.per_device_train_batch_size=4",
            "trainer.gradient_checkpointing=true",
        ],
    ),
    "smollm2 lora all-linear 4x512": (
        "smollm2",
        [
            "method=lora",
            "method.target_modules=[all-linear]",
            "data.max_length=512",
            "trainer.per_device_train_batch_size=4",
        ],
    ),
    "smollm2 full 2x512": ("smollm2", ["method=full", "data.max_length=512", "trainer.per_device_train_batch_size=2"]),
    "smollm2 full 4x512 ckpt": (
        "smollm2",
        [
            "method=full",
            "data.max_length=512",
            "trainer.per_device_train_batch_size=4",
            "trainer.gradient_checkpointing=true",
        ],
    ),
    "smollm2 qlora 4x512": (
        "smollm2",
        ["method=qlora", "data.max_length=512", "trainer.per_device_train_batch_size=4"],
    ),
    "smollm2 qlora 4x512 ckpt": (
        "smollm2",
        [
            "method=qlora",
            "data.max_length=512",
            "trainer.per_device_train_batch_size=4",
            "trainer.gradient_checkpointing=true",
        ],
    ),
    "smollm2 qlora 2x512 ckpt": (
        "smollm2",
        [
            "method=qlora",
            "data.max_length=512",
            "trainer.per_device_train_batch_size=2",
            "trainer.gradient_checkpointing=true",
        ],
    ),
    "smollm2 qlora 4x256 ckpt": (
        "smollm2",
        [
            "method=qlora",
            "data.max_length=256",
            "trainer.per_device_train_batch_size=4",
            "trainer.gradient_checkpointing=true",
        ],
    ),
}


def long_records(path: str, n: int = 64) -> None:
    words = "the quick brown fox jumps over a lazy dog by the river under the mountain cloud".split()
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(
                json.dumps(
                    {"instruction": f"Write story {i}.", "output": " ".join(rng.choice(words) for _ in range(3000))}
                )
                + "\n"
            )


def model_path(kind: str, tmp: str) -> str | None:
    if kind == "tiny":
        return "tiny"
    if kind == "smollm2":
        from tests.smollm2 import smollm2_folder

        try:
            return smollm2_folder()
        except RuntimeError:
            return None
    from train_throughput import qwen2_small

    return qwen2_small(os.path.join(tmp, "qwen2_small"))


def child(model: str, data: str, out: str, overrides: list[str]) -> None:
    from tune import compose, train

    template = "chatml" if model != "tiny" else "alpaca"
    cfg = compose(
        None,
        [
            f"model.name_or_path={model}",
            f"template={template}",
            f"data.path={data}",
            "data.format=alpaca",
            "data.cache=false",
            "trainer.max_steps=2",
            "trainer.logging_steps=1",
            f"trainer.output_dir={out}",
            "trainer.report_to=[]",
            "trainer.memory_limit_gb=1000",
            "trainer.gradient_checkpointing=false",
            "trainer.save_steps=1000",
            *overrides,
        ],
    )
    print("RESULT " + json.dumps(train(cfg).metrics))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", nargs="*", default=list(CASES))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tune-memory-")
    data = os.path.join(tmp, "long.jsonl")
    long_records(data)
    models = {}
    print(f"{'case':32} {'estimate':>9} {'peak':>7} {'ratio':>6} | {'est. growth':>11} {'growth':>7} {'ratio':>6}")
    worst = 1.0
    for name in a.cases:
        kind, overrides = CASES[name]
        if kind not in models:
            models[kind] = model_path(kind, tmp)
        if models[kind] is None:
            print(f"{name:32} skipped: no {kind} model here")
            continue
        r = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                models[kind],
                data,
                os.path.join(tmp, name.replace(" ", "_")),
                *overrides,
            ],
            capture_output=True,
            text=True,
        )
        line = next((l for l in r.stdout.splitlines() if l.startswith("RESULT ")), None)
        if line is None:
            print(f"{name:32} failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
            continue
        m = json.loads(line[7:])
        growth = m["peak_memory_gb"] - m["memory_before_training_gb"]
        total_ratio = m["memory_estimate_gb"] / m["peak_memory_gb"]
        growth_ratio = m["memory_estimate_growth_gb"] / growth
        worst = max(worst, abs(total_ratio - 1) + 1, abs(growth_ratio - 1) + 1)
        print(
            f"{name:32} {m['memory_estimate_gb']:8.2f}G {m['peak_memory_gb']:6.2f}G {total_ratio:6.2f} | "
            f"{m['memory_estimate_growth_gb']:10.2f}G {growth:6.2f}G {growth_ratio:6.2f}",
            flush=True,
        )
    print(f"worst_deviation={worst - 1:.2f}")


if __name__ == "__main__":
    main()
