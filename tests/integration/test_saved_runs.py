"""Runs saved before methods had their own configs (tune.json holding the flat 19-field method config) still
load for chat, generate, eval and export."""
from __future__ import annotations

import json

import torch

from tune import compose, train

FLAT_METHOD = {"name": "qlora", "trainable_layers": 2, "train_embeddings": False, "train_lm_head": False, "r": 8,
               "alpha": 16, "dropout": 0.05, "target_modules": ["all-linear"], "modules_to_save": [],
               "init_adapter": None, "use_dora": False, "use_rslora": False, "quant_type": "nf4",
               "double_quant": True, "compute_dtype": "auto", "num_virtual_tokens": 128, "prefix_projection": False,
               "encoder_hidden_size": 0, "quantization_bit": 0}


def test_a_run_with_the_flat_method_config_still_loads(tmp_path):
    from tune import export as export_model
    from tune.infer.load import load_trained

    result = train(compose(None, ["method=qlora", "trainer.max_steps=2", "data.max_length=64", "data.max_samples=16",
                                  f"trainer.output_dir={tmp_path / 'run'}", "trainer.report_to=[]"]))
    meta_path = f"{result.model_dir}/tune.json"
    meta = json.load(open(meta_path))
    assert set(meta["config"]["method"]) == set(FLAT_METHOD) - {"trainable_layers", "train_embeddings",
                                                                 "train_lm_head", "num_virtual_tokens",
                                                                 "prefix_projection", "encoder_hidden_size",
                                                                 "quantization_bit"}
    before = load_trained(result.output_dir)
    meta["config"]["method"] = FLAT_METHOD  # as runs saved before the change hold it
    json.dump(meta, open(meta_path, "w"))
    after = load_trained(result.output_dir)
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        assert torch.equal(before.model(input_ids=ids).logits, after.model(input_ids=ids).logits)
    out = export_model(result.output_dir, str(tmp_path / "export"))
    assert (tmp_path / "export" / "model.safetensors").exists() and out
