"""Every recipe runs as written plus the small overrides CI uses, and documents itself."""
import json

import pytest

from tests.conftest import REPO, shared
from tests.helpers import run_tune
from tune.config import group_options

SAMPLES = {  # recipe -> (real sample, format)
    "alpaca": ("alpaca/alpaca_en_demo.json", "alpaca"),
    "alpaca_lora": ("alpaca/alpaca_en_demo.json", "alpaca"),
    "vicuna": ("sharegpt/dummy_conversation.json", "sharegpt"),
    "huatuo": ("huatuo/llama_data.json", "huatuo"),
    "chatglm_ptuning": ("alpaca/alpaca_zh_demo.json", "alpaca"),
    "belle": ("alpaca/alpaca_zh_demo.json", "belle"),
    "chinese_vicuna_medical": ("belle_eval/eval_set.json", "qa"),
    "dolly": ("alpaca/identity.json", "alpaca"),
    "demo": (None, None),
    "facts": (None, None),  # bundled data (src/tune/assets/facts)
}


def test_every_recipe_has_a_sample_here():
    assert set(group_options("recipe")) == set(SAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(SAMPLES))
def test_recipe_small_run(recipe, tmp_path):
    rel, fmt = SAMPLES[recipe]
    data = [f"data.path={shared(rel)}", f"data.format={fmt}", "data.on_error=skip"] if rel else []
    r = run_tune(
        "train",
        f"recipe={recipe}",
        "model=tiny",
        *data,
        "deepspeed=none",
        "trainer.max_steps=5",
        "data.group_by_length=false",
        f"trainer.output_dir={tmp_path}",
        "trainer.report_to=[]",
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / "model" / "tune.json").exists()
    meta = json.loads((tmp_path / "model" / "tune.json").read_text())
    assert meta["config"]["run_name"] == recipe


@pytest.mark.parametrize("recipe", sorted(set(SAMPLES) - {"demo"}))  # demo: documented in the main README
def test_recipe_readme(recipe):
    readme = REPO / "recipes" / recipe / "README.md"
    assert readme.exists()
    text = readme.read_text()
    assert f"recipe={recipe}" in text and "accelerate launch" in text
    for heading in ("## What it reproduces", "## Original hyper-parameters", "## Data", "## Evaluation"):
        assert heading in text, heading
