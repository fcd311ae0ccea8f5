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


@pytest.mark.parametrize("amx, avx512_bf16, cuda, precision, want", [
    (False, True, False, "fp32", "medium"),     # this machine's kind: AVX512-BF16
    (True, False, False, "fp32", "medium"),     # Sapphire Rapids and later: AMX
    (False, False, False, "fp32", "highest"),   # no bf16 units: bf16 math there is many times slower
    (False, True, False, "bf16", "highest"),    # autocast computes in bf16 already
    (False, True, True, "fp32", "highest"),     # a GPU keeps torch's default
])
def test_auto_picks_bf16_math_only_on_cpus_with_bf16_units(monkeypatch, amx, avx512_bf16, cuda, precision, want):
    from tune.precision import resolve_matmul_precision

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert resolve_matmul_precision("auto", precision) == want
    assert resolve_matmul_precision("highest", precision) == "highest"
