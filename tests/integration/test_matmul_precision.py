"""trainer.matmul_precision: torch's process-wide fp32 matmul precision is set for the run, said on the start line,
and restored after it, also when the run fails (the notebook API trains in the user's process); auto picks bf16
math for fp32 on CPUs with bf16 units only."""
import pytest
import torch

from tests.helpers import write_jsonl
from tune import compose, train


def _cfg(tmp_path, *extra):
    return compose(None, ["trainer.report_to=[]", "trainer.max_steps=2", "trainer.logging_steps=1",
                          f"trainer.output_dir={tmp_path / 'run'}", "trainer.save_steps=1000", *extra])


def test_medium_is_used_for_the_run_and_restored(tmp_path, capsys, monkeypatch):
    seen = []
    real = torch.set_float32_matmul_precision
    monkeypatch.setattr(torch, "set_float32_matmul_precision", lambda p: (seen.append(p), real(p))[1])
    train(_cfg(tmp_path, "trainer.precision=fp32", "trainer.matmul_precision=medium"))
    assert seen == ["medium", "highest"] and torch.get_float32_matmul_precision() == "highest"
    err = capsys.readouterr().err
    assert "compute fp32 with bf16 matmul math" in err or "compute fp32 with TF32 matmul math" in err


def test_restored_when_the_run_fails(tmp_path):
    bad = tmp_path / "bad.jsonl"
    write_jsonl(bad, [{"instruction": "hi", "output": "there"}, {"instruction": 3}])
    with pytest.raises(Exception):
        train(_cfg(tmp_path, "trainer.matmul_precision=medium", f"data.path={bad}", "data.format=alpaca",
                   "data.on_error=raise"))
    assert torch.get_float32_matmul_precision() == "highest"


@pytest.mark.parametrize("amx, avx512_bf16, cuda, precision, hidden, want", [
    (False, True, False, "fp32", 576, "medium"),     # this machine's kind: AVX512-BF16, SmolLM2's width
    (True, False, False, "fp32", 4096, "medium"),    # Sapphire Rapids and later: AMX
    (False, True, False, "fp32", None, "medium"),    # width not known: taken as wide
    (False, True, False, "fp32", 384, "medium"),     # the narrowest width it paid on
    (False, True, False, "fp32", 256, "highest"),    # narrower: torch's CPU attention pays oneDNN's setup per block
    (False, False, False, "fp32", 576, "highest"),   # no bf16 units: bf16 math there is many times slower
    (False, True, False, "bf16", 576, "highest"),    # autocast computes in bf16 already
    (False, True, True, "fp32", 576, "highest"),     # a GPU keeps torch's default
])
def test_auto_picks_bf16_math_only_on_cpus_with_bf16_units_and_wide_models(monkeypatch, amx, avx512_bf16, cuda,
                                                                            precision, hidden, want):
    from tune.precision import resolve_matmul_precision

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert resolve_matmul_precision("auto", precision, hidden) == want
    assert resolve_matmul_precision("highest", precision, hidden) == "highest"


def test_auto_on_the_narrow_tiny_model_is_plain_fp32_and_says_why(tmp_path, capsys, monkeypatch):
    """The tiny demo model (128 wide) trains in plain fp32 under auto even on a CPU with bf16 units, and the start
    line says why; the same run with the width read as SmolLM2's gets bf16 math."""
    import importlib

    run = importlib.import_module("tune.train.run")  # tune.train is also the notebook API's function

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    seen = []
    real = torch.set_float32_matmul_precision
    monkeypatch.setattr(torch, "set_float32_matmul_precision", lambda p: (seen.append(p), real(p))[1])
    train(_cfg(tmp_path, "trainer.precision=fp32"))
    assert seen == ["highest", "highest"]
    err = capsys.readouterr().err
    assert "compute fp32 (bf16 matmul math pays from hidden 384 on, this model is 128 wide" in err

    seen.clear()
    monkeypatch.setattr(run, "hidden_size", lambda path: 576)
    train(_cfg(tmp_path / "wide", "trainer.precision=fp32"))
    assert seen == ["medium", "highest"] and torch.get_float32_matmul_precision() == "highest"
