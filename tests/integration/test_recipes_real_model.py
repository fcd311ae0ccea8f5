"""Two seed recipes on a real pretrained model (SmolLM2-135M-Instruct), run as benchmarks/recipes_real_model.py
runs every recipe: one LoRA recipe, and one full fine-tune under `accelerate launch` with ZeRO-3 on 2 processes
(its tied embedding, its bf16 precision). Held-out loss falls by at least 10% and every held-out answer stops at
the template's end of turn."""
import pytest


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["huatuo", "vicuna"])
def test_a_recipe_learns_on_a_real_model(recipe, smollm2, tmp_path, monkeypatch):
    from benchmarks import recipes_real_model as bench

    # smaller than the benchmark's scale, so both stay within a few minutes of the suite
    monkeypatch.setattr(bench, "STEPS", 30)  # huatuo: its 10 epochs over 24 records; vicuna: once over 240
    monkeypatch.setattr(bench, "MAX_LENGTH", 256)
    result = bench.run_recipe(recipe, str(tmp_path), smollm2[1], {})
    assert result["loss_after"] <= 0.9 * result["loss_before"], result
    assert all(answer and stopped for answer, stopped in result["answers_after"]), result["answers_after"]
