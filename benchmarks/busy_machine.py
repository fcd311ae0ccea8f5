"""Threads on a shared machine: a LoRA run on SmolLM2-135M-Instruct (tests/smollm2.py fetches it) on a quiet
machine and beside busy processes this script starts itself (each a one-thread fp32 matmul loop, as another
training job or a test suite would be), for each thread setting:

  default      torch's default threads (one per core), OpenMP's default wait policy (threads spin while waiting)
  passive      the same threads with OMP_WAIT_POLICY=PASSIVE (libgomp sleeps instead of spinning)
  spin 10000   GOMP_SPINCOUNT=10000: libgomp spins 10,000 rounds before it sleeps (its default is 300,000)
  spin 1000    GOMP_SPINCOUNT=1000
  one thread   trainer.threads=1

Each `tune train` runs in its own process; prints trained tokens/s per setting and load, and each setting's
ratio to the default on the quiet machine (the cost of a setting where nothing else runs) and under load.

    python benchmarks/busy_machine.py [--busy 2] [--steps 8]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(REPO, "src"), REPO, HERE]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from tune_process import logged_rows, step_rows, tune_train  # noqa: E402
ALPACA = os.path.join(REPO, "tests", "data", "alpaca", "alpaca_en_demo.json")
SETTINGS = {
    "default": ({}, []),
    "passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, []),
    "spin 10000": ({"GOMP_SPINCOUNT": "10000"}, []),
    "spin 1000": ({"GOMP_SPINCOUNT": "1000"}, []),
    "one thread": ({}, ["trainer.threads=1"]),
}
BUSY = "import torch\ntorch.set_num_threads(1)\na = torch.randn(512, 512)\nwhile True:\n    a @ a\n"


def tokens_per_second(model: str, steps: int, env: dict, overrides: list[str]) -> float:
    out = tempfile.mkdtemp()
    tune_train([f"model.name_or_path={model}", f"data.path={ALPACA}", "data.format=alpaca", "template=tokenizer",
                "data.max_length=256", "data.cache=false", "data.val_size=0", "method=lora",
                "trainer.per_device_train_batch_size=4", f"trainer.max_steps={steps}", "trainer.logging_steps=1",
                "trainer.save_steps=100000", "trainer.report_to=[]", "trainer.precision=fp32",
                f"trainer.output_dir={out}", *overrides], env={**os.environ, **env})
    # the first step pays for warm-up: from the second row on, tokens over the time between rows
    rows = step_rows(logged_rows(out))
    return sum(row["tokens_per_second"] for row in rows[1:]) / max(len(rows) - 1, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--busy", type=int, default=2, help="busy processes beside the run")
    parser.add_argument("--steps", type=int, default=8)
    a = parser.parse_args()
    from tests.smollm2 import smollm2_folder

    model = smollm2_folder()
    results = {}
    for load in (0, a.busy):
        workers = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(load)]
        try:
            for name, (env, overrides) in SETTINGS.items():
                results[name, load] = tokens_per_second(model, a.steps, env, overrides)
                print(f"{name:10s} beside {load} busy processes: {results[name, load]:7.1f} trained tokens/s",
                      flush=True)
        finally:
            for w in workers:
                w.kill()
    for name in SETTINGS:
        print(f"{name:10s} quiet {results[name, 0] / results['default', 0]:5.2f}x default, beside {a.busy} busy "
              f"{results[name, a.busy] / results['default', a.busy]:5.2f}x default "
              f"({results[name, a.busy] / results[name, 0]:.2f}x its quiet speed)")


if __name__ == "__main__":
    main()
