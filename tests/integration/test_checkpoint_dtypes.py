"""A checkpoint's storage dtype never decides the training dtype: a bf16 checkpoint and its fp32 copy (the same
values upcast) train to the same losses; full/freeze keep fp32 master weights in what they save; export writes
the base checkpoint's dtype unless export.dtype says otherwise."""
import json
import os

import pytest
import torch

from tests.helpers import metrics_rows
from tune import compose, export, train

METHODS = {
    "full": ["trainer.learning_rate=3e-3"],
    "freeze": ["trainer.learning_rate=3e-3", "method.trainable_layers=1"],
    "lora": ["trainer.learning_rate=1e-2", "method.target_modules=[all-linear]"],
}


@pytest.fixture(scope="module")
def checkpoints(tiny_dir, tmp_path_factory):
    """The tiny model stored in bf16, and the same bf16 values stored in fp32."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root = tmp_path_factory.mktemp("dtypes")
    tok = AutoTokenizer.from_pretrained(tiny_dir)
    bf16 = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32).to(torch.bfloat16)
    bf16.save_pretrained(root / "bf16")
    tok.save_pretrained(root / "bf16")
    bf16.to(torch.float32).save_pretrained(root / "fp32")
    tok.save_pretrained(root / "fp32")
    return {"bf16": str(root / "bf16"), "fp32": str(root / "fp32")}


def run(method, model_dir, out):
    cfg = compose(None, [f"method={method}", f"model.name_or_path={model_dir}", "trainer.max_steps=6",
                         "trainer.logging_steps=1", "trainer.per_device_train_batch_size=4", "data.max_length=64",
                         f"trainer.output_dir={out}", "trainer.report_to=[]", "trainer.save_steps=1000",
                         "data.cache=false"] + METHODS[method])
    result = train(cfg)
    rows = metrics_rows(result.output_dir)
    return result, [r["loss"] for r in rows if "loss" in r]


def stored_dtypes(folder) -> set:
    from safetensors import safe_open

    dtypes = set()
    for name in os.listdir(folder):
        if name.endswith(".safetensors"):
            with safe_open(os.path.join(folder, name), "pt") as f:
                dtypes |= {f.get_slice(k).get_dtype() for k in f.keys()}
    return dtypes


@pytest.mark.parametrize("method", list(METHODS))
def test_bf16_checkpoint_trains_like_its_fp32_copy(method, checkpoints, tmp_path, capfd):
    result, from_bf16 = run(method, checkpoints["bf16"], tmp_path / "a")
    err = capfd.readouterr().err
    _, from_fp32 = run(method, checkpoints["fp32"], tmp_path / "b")
    assert len(from_bf16) == 6
    for a, b in zip(from_bf16, from_fp32):
        assert abs(a - b) <= 1e-5 * abs(b), (from_bf16, from_fp32)
    assert "stored bf16" in err and "compute fp32" in err
    meta = json.load(open(os.path.join(result.model_dir, "tune.json")))
    assert meta["base_dtype"] == "bf16" and meta["precision"] == "fp32"
    if method != "lora":  # the saved model keeps the fp32 master weights (resume needs them)
        assert "held in fp32 (master copy)" in err
        assert stored_dtypes(result.model_dir) == {"F32"}


def test_export_writes_the_base_dtype_unless_told(checkpoints, tmp_path):
    result, _ = run("lora", checkpoints["bf16"], tmp_path / "run")
    auto = export(result.output_dir, str(tmp_path / "auto"))
    assert stored_dtypes(auto) == {"BF16"}
    assert json.load(open(os.path.join(auto, "config.json")))["dtype"] == "bfloat16"
    fp32 = export(result.output_dir, str(tmp_path / "fp32"), dtype="fp32")
    assert stored_dtypes(fp32) == {"F32"}
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(auto)  # loads without tune, in the dtype it was written in
    assert model.dtype == torch.bfloat16
