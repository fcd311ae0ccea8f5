"""transformers.Trainer with tune's loss (logits only at labelled positions, token mean over the step), the
length-grouped global-batch order, and tokens/s, padding fraction and MFU on every log row."""
from __future__ import annotations

import os
import sys

from transformers import Trainer
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from ..data.batching import GlobalBatchLengthSampler, example_lengths
from .callbacks import NumericProgressCallback, RowPrinterCallback
from ..loss import labelled_token_loss
from .memory_meter import GIB, peak_bytes, reset_peak, resident_bytes
from .throughput import ThroughputMeter, batch_counts, cpu_peak_flops, model_shape, peak_flops, with_training


class TuneTrainer(Trainer):
    # tune's loss divides by the step's labelled-token count itself: training_step must not divide again
    loss_is_scaled_for_ga = True

    def __init__(self, *args, loss_chunk_tokens: int = 0, group_by_length: bool = True,
                 peak_tflops: float | None = None, compute_dtype=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.pop_callback(ProgressCallback) is not None:
            self.add_callback(NumericProgressCallback)
        if self.pop_callback(PrinterCallback) is not None and self.is_world_process_zero():
            self.add_callback(RowPrinterCallback)  # bars off (not a terminal): rows as plain lines
        self.loss_chunk_tokens = loss_chunk_tokens
        self.group_by_length = group_by_length
        self.compute_dtype = compute_dtype
        peak, self.peak_source = peak_flops(peak_tflops, compute_dtype)
        self.cpu_peak = self.peak_source == "cpu"  # measured here (not configured, not a data sheet's)
        model = self.accelerator.unwrap_model(self.model)
        config = getattr(model, "config", None)
        self.meter = ThroughputMeter(with_training(model_shape(config) if config is not None else None, model), peak)

    # -- data order ------------------------------------------------------------------------------------
    def global_batch(self) -> int:
        a = self.args
        return a.per_device_train_batch_size * a.gradient_accumulation_steps * max(a.world_size, 1)

    def _get_train_sampler(self, train_dataset=None):
        ds = train_dataset if train_dataset is not None else self.train_dataset
        if not self.group_by_length or not hasattr(ds, "with_format") or not hasattr(ds, "__len__"):
            return super()._get_train_sampler(train_dataset)
        return GlobalBatchLengthSampler(example_lengths(ds), self.global_batch(), self.args.data_seed or self.args.seed)

    # -- loss ------------------------------------------------------------------------------------------
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs = dict(inputs)
        labels = inputs.pop("labels")
        if model.training:
            self.meter.add(batch_counts(inputs, labels))
        inputs.pop("num_real_tokens", None)
        loss, outputs = labelled_token_loss(model, inputs, labels, num_items_in_batch, self.loss_chunk_tokens)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            # num_items_in_batch counts every rank's tokens and DDP/DeepSpeed average the ranks' gradients
            loss = loss * self.accelerator.num_processes
        return (loss, outputs) if return_outputs else loss

    # -- saving ----------------------------------------------------------------------------------------
    def save_model(self, output_dir=None, _internal_call=False):
        """As Trainer does (checkpoints too), plus generation_config.json where the model's own save skips it: a
        peft adapter folder. transformers takes an adapter's generation config from the base model, whose eos is
        not the template's end of turn; the adapter folder carries the right one for
        GenerationConfig.from_pretrained."""
        super().save_model(output_dir, _internal_call)
        folder = output_dir or self.args.output_dir
        config = getattr(self.accelerator.unwrap_model(self.model), "generation_config", None)
        if (
            self.is_world_process_zero()
            and config is not None
            and os.path.isdir(folder)
            and not os.path.exists(os.path.join(folder, "generation_config.json"))
        ):
            config.save_pretrained(folder)

    # -- logging ---------------------------------------------------------------------------------------
    def _ensure_peak(self) -> None:
        if self.meter.peak_flops is None and self.cpu_peak:
            self.meter.peak_flops = cpu_peak_flops(self._peak_dtype())
            self._say_peak("")

    def _peak_dtype(self):
        import torch

        return self.compute_dtype or torch.float32

    def _say_peak(self, why: str) -> None:
        import torch

        dtype = str(self._peak_dtype()).replace("torch.", "")
        if dtype == "float32" and torch.get_float32_matmul_precision() == "medium":
            dtype += " (bf16 matmul math)"
        self.peak_source = (f"the best {dtype} matmul rate of this CPU at {torch.get_num_threads()} threads measured "
                            "here (cached)")
        if self.is_world_process_zero():
            print(f"tune: MFU against {self.meter.peak_flops / 1e9:.1f} GFLOP/s, {self.peak_source}{why}",
                  file=sys.stderr, flush=True)

    def _check_peak(self, fields: dict) -> dict:
        """A CPU run that computes faster than the measured peak proves the figure low (measured while other jobs
        ran): measure again, keep the higher figure (at least this run's rate) and rescale the row."""
        if fields.get("mfu", 0) <= 1 or not self.cpu_peak:
            return fields
        old = self.meter.peak_flops
        self.meter.peak_flops = cpu_peak_flops(self._peak_dtype(), remeasure=True, at_least=fields["mfu"] * old)
        self._say_peak(f" (measured again: this run computed {fields['mfu'] * old / 1e9:.1f} GFLOP/s, above "
                       f"{old / 1e9:.1f})")
        scale = old / self.meter.peak_flops
        return {k: round(v * scale, 5) if k.startswith("mfu") else v for k, v in fields.items()}

    def train(self, *args, **kwargs):
        self.memory_before_training = resident_bytes()
        reset_peak()  # the peak on each row is the training's own (not model loading's or data preparation's)
        return super().train(*args, **kwargs)

    def log(self, logs: dict, *args, **kwargs) -> None:
        if "loss" in logs and "eval_loss" not in logs:  # a training row (every rank logs at the same steps)
            self._ensure_peak()
            logs = {
                **logs,
                **self._check_peak(self._throughput(self.meter.fields(reduce=self._sum_over_ranks))),
                "peak_memory_gb": round(peak_bytes() / GIB, 3),
            }
        super().log(logs, *args, **kwargs)

    def _throughput(self, fields: dict) -> dict:
        for k in ("mfu", "mfu_6n"):  # counts are summed over ranks; the peak is one device's
            if k in fields:
                fields[k] = round(fields[k] / max(self.accelerator.num_processes, 1), 5)
        return fields

    def _sum_over_ranks(self, counts):
        if self.accelerator.num_processes <= 1:
            return counts
        return self.accelerator.reduce(counts.to(self.accelerator.device), reduction="sum").cpu()

    def throughput_summary(self) -> dict:
        return {
            **self._throughput(self.meter.summary()),
            "peak_memory_gb": round(peak_bytes() / GIB, 3),
            "memory_before_training_gb": round(getattr(self, "memory_before_training", 0) / GIB, 3),
        }
