"""Trainer callbacks (metrics.jsonl, the checkpoint-complete marker) and the loss-curve PNG. Rank 0 only."""
from __future__ import annotations

import json
import os

from transformers import TrainerCallback
from transformers.trainer_callback import ProgressCallback

from .checkpoints import rotate_checkpoints, write_marker
from .loss import perplexity



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


class NumericProgressCallback(ProgressCallback):
    """The progress bar, with log rows printed as JSON numbers ({"loss": 1.817}), not the strings transformers
    writes ({'loss': '1.817'}), so a row can be pasted into a script."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and self.training_bar is not None and logs:
            row = {k: (float(f"{v:.4g}") if isinstance(v, float) else v) for k, v in logs.items() if k != "total_flos"}
            self.training_bar.write(json.dumps(row))


class CheckpointMarkerCallback(TrainerCallback):
    """Marks a checkpoint complete once the Trainer has finished writing it (a run killed mid-save leaves a
    folder without the marker, which resume skips), then rotates: older checkpoints go only now, after the new
    one is complete, so a kill at any moment leaves at least one complete checkpoint. (The Trainer's own
    rotation runs before this marker exists; it gets save_total_limit=None.)"""

    def __init__(self, save_total_limit: int | None = None):
        self.save_total_limit = save_total_limit

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        folder = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        if os.path.isdir(folder):
            write_marker(folder, state.global_step)
            rotate_checkpoints(args.output_dir, self.save_total_limit)


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
