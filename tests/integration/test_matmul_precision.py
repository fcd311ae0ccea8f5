"""trainer.matmul_precision: torch's process-wide fp32 matmul precision is set for the run, said on the start line,
and restored after it, also when the run fails (the notebook API trains in the user's process)."""
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
    assert "compute fp32 (matmul math: bf16 on CPU, TF32 on GPU)" in capsys.readouterr().err


def test_restored_when_the_run_fails(tmp_path):
    bad = tmp_path / "bad.jsonl"
    write_jsonl(bad, [{"instruction": "hi", "output": "there"}, {"instruction": 3}])
    with pytest.raises(Exception):
        train(_cfg(tmp_path, "trainer.matmul_precision=medium", f"data.path={bad}", "data.format=alpaca",
                   "data.on_error=raise"))
    assert torch.get_float32_matmul_precision() == "highest"
