"""The CPU's bf16 units on a real model: SmolLM2-135M-Instruct (tests/smollm2.py fetches it), LoRA (all-linear)
and full fine-tuning, the Alpaca sample at max_length 256, batch 4, the model's own chat template, through three
routes, each `tune train` in its own process:

  fp32         trainer.precision=fp32 (fp32 weights, fp32 matmuls)
  bf16         trainer.precision=bf16: autocast; full keeps fp32 master weights, LoRA holds its frozen base in bf16
  bf16 math    trainer.precision=fp32 trainer.matmul_precision=medium: fp32 weights, bf16 math inside matmuls
               (oneDNN on CPUs with AVX512-BF16 or AMX)

Prints trained tokens/s per route and its ratio to fp32, and the largest relative difference of any logged loss
(every step) from the fp32 run's. A route pays where it is >= 1.3x fp32 with every loss within 2%.

    python benchmarks/cpu_precision.py [--steps 50] [--method lora full]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(REPO, "src"), REPO, HERE]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from tune_process import logged_rows, step_rows, tune_train  # noqa: E402
ALPACA = os.path.join(REPO, "tests", "data", "alpaca", "alpaca_en_demo.json")
ROUTES = {
    "fp32": ["trainer.precision=fp32", "trainer.matmul_precision=highest"],
    "bf16": ["trainer.precision=bf16"],
    "bf16 math": ["trainer.precision=fp32", "trainer.matmul_precision=medium"],
}
METHODS = {
    "lora": ["method=lora", "method.target_modules=[all-linear]", "method.r=16", "method.alpha=32",
             "trainer.learning_rate=2e-4"],
    "full": ["method=full", "trainer.learning_rate=2e-5"],
}


def run(model: str, method: str, route: str, steps: int) -> tuple[float, list[float]]:
    """(trained tokens/s over the run, the loss of every step)."""
    out = tempfile.mkdtemp()
    tune_train([f"model.name_or_path={model}", f"data.path={ALPACA}", "data.format=alpaca", "template=tokenizer",
                "data.max_length=256", "data.cache=false", "data.val_size=0", "trainer.per_device_train_batch_size=4",
                f"trainer.max_steps={steps}", "trainer.logging_steps=1", "trainer.save_steps=100000",
                "trainer.report_to=[]", "trainer.gradient_checkpointing=false", f"trainer.output_dir={out}",
                *METHODS[method], *ROUTES[route]], label=f"{method} {route}")
    rows = logged_rows(out)
    losses = [row["loss"] for row in step_rows(rows)]
    last = [row for row in rows if "train_loss" in row or "train_runtime" in row]
    tokens = max(row.get("num_input_tokens_seen", 0) for row in rows)
    seconds = max(row.get("train_runtime", 0) for row in last) if last else None
    return (tokens / seconds if seconds else float("nan")), losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--method", nargs="+", default=list(METHODS), choices=list(METHODS))
    a = parser.parse_args()
    import torch

    from tests.smollm2 import smollm2_folder

    print(f"CPU: AVX512-BF16 {torch.cpu._is_avx512_bf16_supported()}, AMX {torch.cpu._is_amx_tile_supported()}; "
          f"torch threads {torch.get_num_threads()}")
    model = smollm2_folder()
    for method in a.method:
        results = {route: run(model, method, route, a.steps) for route in ROUTES}
        base_tps, base_losses = results["fp32"]
        for route, (tps, losses) in results.items():
            worst = max(abs(x - y) / abs(y) for x, y in zip(losses, base_losses))
            print(f"[{method}] {route:9s} {tps:7.0f} trained tokens/s  {tps / base_tps:5.2f}x fp32   largest loss "
                  f"difference from fp32 over {len(losses)} steps {worst:6.2%}", flush=True)


if __name__ == "__main__":
    main()
