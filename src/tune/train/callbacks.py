"""Trainer callbacks (metrics.jsonl, the checkpoint-complete marker) and the loss-curve PNG. Rank 0 only."""
from __future__ import annotations

import json
import os
import sys

from transformers import TrainerCallback
from transformers.trainer_callback import ProgressCallback

from ..rundir import RunDir
from .checkpoints import rotate_checkpoints, write_marker
from .throughput import mfu_text
from ..loss import perplexity



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
    """The progress bar, with each log row as one readable tune line above it (metrics.jsonl keeps every row as
    JSON): ``tune: step 10/42: loss 1.594, lr 0.000998, grad_norm 1.10, 226 tokens/s, padding 2.5%, MFU 80.2%``."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and self.training_bar is not None and logs:
            line = log_line(state.global_step, state.max_steps, logs)
            if line:
                self.training_bar.write(line, file=sys.stderr)  # with tune's other lines (tqdm.write: stdout)


class RowPrinterCallback(TrainerCallback):
    """Where stderr is a file or a pipe (a log file, CI output), no bars: a bar redraws with carriage returns and
    cursor moves, which a log file keeps, so each row would sit inside a bar line. Each row is a plain line."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            line = log_line(state.global_step, state.max_steps, logs)
            if line:
                print(line, file=sys.stderr, flush=True)


def bars_fit_stderr() -> bool:
    """Progress bars where they redraw in place: a terminal, or a notebook (its own HTML bar)."""
    from transformers.utils import is_in_notebook

    return sys.stderr.isatty() or is_in_notebook()


def log_line(step: int, max_steps: int, logs: dict) -> str:
    """One log row as a line; '' for the trainer's closing totals (tune's own last line says them)."""
    if "train_loss" in logs:
        return ""
    where = f"tune: step {step}/{max_steps}"
    if "eval_loss" in logs:
        return f"{where}: eval_loss {logs['eval_loss']:.4f} (perplexity {perplexity(logs['eval_loss']):.2f})"
    parts = [f"loss {logs['loss']:.4f}"] if "loss" in logs else []
    if "learning_rate" in logs:
        parts.append(f"lr {logs['learning_rate']:.3g}")
    if "grad_norm" in logs:
        parts.append(f"grad_norm {logs['grad_norm']:.3g}")
    if "tokens_per_second" in logs:
        parts.append(f"{logs['tokens_per_second']:,.0f} tokens/s")
    if "padding_fraction" in logs:
        parts.append(f"padding {100 * logs['padding_fraction']:.1f}%")
    if "mfu" in logs:
        parts.append(mfu_text(logs))
    if "peak_memory_gb" in logs:
        parts.append(f"peak memory {logs['peak_memory_gb']:.2f} GB")
    return f"{where}: " + ", ".join(parts) if parts else ""


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
        folder = RunDir(args.output_dir).checkpoint(state.global_step)
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
