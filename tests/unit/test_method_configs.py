"""Methods describe themselves: each has its own structured config (qlora's extends lora's), a field of another
method set on the command line fails at compose with one line naming the method's fields, and a recipe's
method fields are dropped with one line when the user picks another method."""
from __future__ import annotations

import dataclasses

import pytest

from tune import compose
from tune.config import group_options
from tune.errors import ConfigError
from tune.methods import METHODS, get_method, method_fields


@pytest.mark.parametrize("name", sorted(METHODS))
def test_compose_narrows_to_the_methods_own_fields(name):
    cfg = compose(None, [f"method={name}"])
    assert list(cfg.method) == method_fields(name)


def test_one_yaml_per_method():
    assert group_options("method") == sorted(METHODS)


def test_qlora_extends_lora():
    assert issubclass(get_method("qlora").Config, get_method("lora").Config)
    assert set(method_fields("lora")) < set(method_fields("qlora"))


@pytest.mark.parametrize("overrides,needle", [
    (["method=full", "method.r=16"], "method.r: method=full has no such field (its fields: none)"),
    (["method=freeze", "method.alpha=3"], "its fields: trainable_layers, train_embeddings, train_lm_head"),
    (["method=lora", "method.quant_type=fp4"], "method.quant_type: method=lora has no such field"),
])
def test_a_field_of_another_method_fails_at_compose(overrides, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        compose(None, overrides)


def test_a_recipes_fields_for_its_own_method_are_dropped_with_one_line(capsys):
    cfg = compose("huatuo", ["method=full"])
    assert dict(cfg.method) == {"name": "full"}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "method=full has no method.alpha, method.dropout, method.r" in err


def test_values_reach_the_method_config():
    cfg = compose("chatglm_ptuning", ["method.num_virtual_tokens=16", "model.trust_remote_code=true"])
    assert cfg.method.num_virtual_tokens == 16 and cfg.method.quantization_bit == 4
    fields = {f.name: f.default for f in dataclasses.fields(get_method("ptuning_v2").Config)}
    assert fields["prefix_projection"] is False


def test_no_branch_on_method_names_outside_methods():
    """train/run.py, infer/load.py and config.py ask the method module, never compare its name."""
    from pathlib import Path

    import tune

    root = Path(tune.__file__).parent
    for rel in ("train/run.py", "train/memory.py", "infer/load.py", "config.py", "artifacts.py"):
        text = (root / rel).read_text(encoding="utf-8")
        for name in METHODS:
            assert f'"{name}"' not in text and f"'{name}'" not in text, (rel, name)
