"""`tune train` in its own process, as a user runs it, and the rows it logged: what the benchmarks that time
whole runs (busy_machine, cpu_precision, demo_learning, recipes_real_model) share."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

TUNE_TRAIN = [sys.executable, "-m", "tune", "train"]


def tune_train(args: list[str], env: dict | None = None, launch: list[str] = TUNE_TRAIN,
               label: str = "tune train") -> tuple[str, float]:
    """``launch`` + ``args`` in a new process (``launch``: `tune train`, or `accelerate launch ... -m tune.train`):
    (its stderr, its wall seconds). A run that fails stops the benchmark with its last line."""
    start = time.perf_counter()
    r = subprocess.run([*launch, *args], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if r.returncode:
        raise SystemExit(f"{label}: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
    return r.stderr, seconds


def logged_rows(output_dir: str) -> list[dict]:
    """Every row of the run's metrics.jsonl (its training steps and the trainer's closing summary)."""
    with open(os.path.join(output_dir, "metrics.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def step_rows(rows: list[dict]) -> list[dict]:
    """The rows of training steps (the closing summary has train_loss, not loss)."""
    return [row for row in rows if "loss" in row and "train_loss" not in row]
