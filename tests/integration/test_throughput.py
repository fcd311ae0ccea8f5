"""What the log rows claim: real tokens, padding and squared lengths counted the same for padded and packed
batches, FLOPs from the config equal to the model's own weight count, and MFU/tokens/s in metrics.jsonl and the
final line."""
import copy
import re

import torch

from tests.helpers import metrics_rows
from tune import compose, train
from tune.data.collate import PackedCollator, PaddingCollator
from tune.data.packing import pack_examples
from tune.train import throughput
from tune.train.throughput import batch_counts, cpu_peak_flops, gpu_peak_flops, model_shape, with_training

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


def test_cpu_peak_never_falls_and_a_faster_run_raises_it(tmp_path, monkeypatch):
    """Load from other jobs only lowers a measurement: the cache keeps the best figure ever seen, and a run's own
    rate above it raises it."""
    monkeypatch.setenv("TUNE_CACHE", str(tmp_path))
    rates = iter([50e9, 20e9, 30e9])
    monkeypatch.setattr(throughput, "measure_cpu_peak_flops", lambda dtype: next(rates))
    assert cpu_peak_flops(torch.float32) == 50e9
    assert cpu_peak_flops(torch.float32, remeasure=True) == 50e9  # a busy moment measured 20: kept 50
    assert cpu_peak_flops(torch.float32, remeasure=True, at_least=80e9) == 80e9
    key = throughput.cpu_peak_key(torch.float32)
    assert key.endswith("|float32") and f"threads={torch.get_num_threads()}" in key
    from tune.precision import matmul_precision

    with matmul_precision("medium"):  # bf16 math has its own peak
        assert throughput.cpu_peak_key(torch.float32) == key + "|matmul=medium"
    assert torch.get_float32_matmul_precision() == "highest"


def test_frozen_weights_count_four_flops_per_token(tiny_model):
    """LoRA: the frozen body and head cost forward + input gradient (4 per weight and token), the adapters 6; a
    full fine-tune is the 6N convention itself."""
    from peft import LoraConfig, get_peft_model

    shape = model_shape(tiny_model.config)
    full = with_training(shape, tiny_model)
    assert not full.counts_frozen and full.computed_flops(100, 40, 900) == full.flops(100, 40, 900)
    lora = get_peft_model(copy.deepcopy(tiny_model), LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    adapter = sum(p.numel() for n, p in lora.named_parameters() if "lora_" in n)
    s = with_training(shape, lora)
    assert (s.trained_body, s.adapter_params, s.head_trained) == (0, adapter, False) and s.counts_frozen
    attention = 12 * s.layers * s.attention_width * 900
    computed = (4 * s.body_params + 6 * adapter) * 100 + 4 * s.hidden * s.vocab * 40 + attention
    assert s.computed_flops(100, 40, 900) == computed
    assert s.flops(100, 40, 900) == 6 * s.body_params * 100 + 6 * s.hidden * s.vocab * 40 + attention


def test_a_run_faster_than_the_cached_peak_measures_it_again(tmp_path, monkeypatch, capsys):
    """A cached CPU peak that load had lowered (here 1 MFLOP/s) is measured again as soon as a row beats it, and
    the rows never claim more than 100%."""
    import json

    monkeypatch.setenv("TUNE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    key = throughput.cpu_peak_key(torch.float32)
    (tmp_path / "cache" / "cpu_peak_flops.json").write_text(json.dumps({key: 1e6}))
    cfg = compose(None, ["trainer.report_to=[]", "trainer.max_steps=4", "trainer.logging_steps=2",
                         f"trainer.output_dir={tmp_path / 'run'}", "trainer.save_steps=1000", "trainer.precision=fp32",
                         "trainer.matmul_precision=highest"])  # the cache key written above: plain fp32
    train(cfg)
    rows = [r for r in metrics_rows(tmp_path / "run") if "loss" in r]
    assert rows and all(0 < r["mfu"] <= 1 for r in rows)
    err = capsys.readouterr().err
    assert "tune: MFU against 0.0 GFLOP/s" in err and "measured again: this run computed" in err
    assert json.loads((tmp_path / "cache" / "cpu_peak_flops.json").read_text())[key] > 1e6


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
        re.search(r": loss \d+\.\d+, lr .* tokens/s, padding .*%, MFU [\d.]+%( \(6N convention [\d.]+%\))?, "
                  r"peak memory [\d.]+ GB$", r) for r in printed
    )
    assert result.metrics["mfu"] > 0
