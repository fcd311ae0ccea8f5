"""Trainer callbacks (metrics.jsonl, the checkpoint-complete marker) and the loss-curve PNG. Rank 0 only."""
from __future__ import annotations

import hashlib
import json
import os

from transformers import TrainerCallback

from .loss import perplexity

COMPLETE_MARKER = "tune_complete.json"


class MetricsFileCallback(TrainerCallback):
    """One JSON object per log: step, loss, learning_rate ...; eval rows carry eval_loss and eval_perplexity."""

    def __init__(self, path: str):
        self.path = path

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        row = {"step": state.global_step, "epoch": state.epoch, **logs}
        if "eval_loss" in row:
            row["eval_perplexity"] = perplexity(row["eval_loss"])
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


class CheckpointMarkerCallback(TrainerCallback):
    """Marks a checkpoint complete once the Trainer has finished writing it: a run killed mid-save leaves a
    folder without the marker, which resume skips. The marker lists every file with its size (and a checksum
    of the small ones), so resume can also tell a checkpoint damaged later (train/checkpoints.py)."""

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        folder = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        if os.path.isdir(folder):
            write_marker(folder, state.global_step)


SMALL_FILE = 1 << 20  # files up to 1 MiB (configs, states, schedulers, rng) get a checksum; big ones a size


def file_record(path: str) -> dict:
    size = os.path.getsize(path)
    rec = {"size": size}
    if size <= SMALL_FILE:
        with open(path, "rb") as f:
            rec["blake2b"] = hashlib.blake2b(f.read(), digest_size=16).hexdigest()
    return rec


def write_marker(folder: str, step: int) -> None:
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            if name.startswith(COMPLETE_MARKER):
                continue
            path = os.path.join(root, name)
            files[os.path.relpath(path, folder)] = file_record(path)
    tmp = os.path.join(folder, COMPLETE_MARKER + ".tmp")
    with open(tmp, "w") as f:
        json.dump({"step": step, "files": files}, f, indent=0)
    os.replace(tmp, os.path.join(folder, COMPLETE_MARKER))


def plot_loss(metrics_path: str, out_path: str) -> None:
    """Train and eval loss against step, from metrics.jsonl."""
    if not os.path.exists(metrics_path):
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in open(metrics_path, encoding="utf-8")]
    train = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    evals = [(r["step"], r["eval_loss"]) for r in rows if "eval_loss" in r]
    fig, ax = plt.subplots(figsize=(6, 4))
    if train:
        ax.plot(*zip(*train), label="train loss")
    if evals:
        ax.plot(*zip(*evals), "o-", label="eval loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_path, dpi=100)
    plt.close(fig)
