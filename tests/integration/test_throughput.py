"""What the log rows claim: real tokens, padding and squared lengths counted the same for padded and packed
batches, FLOPs from the config equal to the model's own weight count, and MFU/tokens/s in metrics.jsonl and the
final line."""
import re

import torch

from tests.helpers import metrics_rows
from tune import compose, train
from tune.data.collate import PackedCollator, PaddingCollator
from tune.data.packing import pack_examples
from tune.train.throughput import batch_counts, cpu_peak_flops, gpu_peak_flops, model_shape

ROWS = [{"input_ids": list(range(5, 5 + n)), "labels": [-100] * 2 + list(range(7, 5 + n))} for n in (3, 9, 4, 12)]


def test_padded_and_packed_batches_count_the_same_tokens():
    padded = PaddingCollator(0)(ROWS)
    cols = pack_examples([r["input_ids"] for r in ROWS], [r["labels"] for r in ROWS], max_length=16)
    packed = PackedCollator(0)([dict(zip(cols, v)) for v in zip(*cols.values())])
    positions, real, labelled, sq = batch_counts(padded, padded["labels"])
    assert (positions, real, sq) == (4 * 12, 28, 9 + 81 + 16 + 144)
    p_positions, p_real, _, p_sq = batch_counts(packed, packed["labels"])
    assert (p_real, p_sq) == (28, 9 + 81 + 16 + 144) and p_positions == packed["input_ids"].numel()


def test_body_flops_match_the_models_weights(tiny_model):
    shape = model_shape(tiny_model.config)
    linear = sum(m.weight.numel() for m in tiny_model.model.layers.modules() if isinstance(m, torch.nn.Linear))
    assert shape.body_params == linear
    assert shape.vocab == tiny_model.config.vocab_size and shape.hidden == tiny_model.config.hidden_size


def test_gpu_table_and_cpu_peak_cached(tmp_path, monkeypatch):
    assert gpu_peak_flops("NVIDIA H100 PCIe") == 756e12 and gpu_peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert gpu_peak_flops("Some New Card") is None
    monkeypatch.setenv("TUNE_CACHE", str(tmp_path))
    first = cpu_peak_flops(torch.float32)
    assert first > 1e9 and (tmp_path / "cpu_peak_flops.json").exists()
    assert cpu_peak_flops(torch.float32) == first  # read back, not measured again


def test_log_rows_and_final_line_carry_tokens_per_second_and_mfu(tmp_path, capsys):
    cfg = compose(None, ["trainer.report_to=[]", "trainer.max_steps=4", "trainer.logging_steps=2",
                         f"trainer.output_dir={tmp_path}", "trainer.save_steps=1000", "trainer.peak_tflops=0.5"])
    result = train(cfg)
    rows = metrics_rows(tmp_path)
    logged = [r for r in rows if "loss" in r]
    assert logged and all(isinstance(r["mfu"], float) and 0 < r["mfu"] < 1 for r in logged)
    assert all(r["tokens_per_second"] > 0 and 0 <= r["padding_fraction"] < 1 for r in logged)
    captured = capsys.readouterr()
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("tune: done:") and "trained tokens/s" in last and "MFU" in last
    printed = [line for line in captured.err.replace("\r", "\n").splitlines() if line.startswith("tune: step ")]
    assert printed and all(
        re.search(r": loss \d+\.\d+, lr .* tokens/s, padding .*%, MFU .*%, peak memory [\d.]+ GB$", r) for r in printed
    )
    assert result.metrics["mfu"] > 0
