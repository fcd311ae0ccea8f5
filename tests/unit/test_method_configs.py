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


def test_every_method_is_a_choice():
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
    """train/run.py, infer/load.py and config/ ask the method module, never compare its name."""
    from pathlib import Path

    import tune

    root = Path(tune.__file__).parent
    for rel in (
        "train/run.py",
        "train/memory.py",
        "infer/load.py",
        *(f"config/{p.name}" for p in (root / "config").glob("*.py")),
        "rundir.py",
        "cli/commands.py",
    ):
        text = (root / rel).read_text(encoding="utf-8")
        for name in METHODS:
            assert f'"{name}"' not in text and f"'{name}'" not in text, (rel, name)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_each_method_s_own_config_decides_its_defaults(name):
    """The method YAMLs name the method only: every default comes from the method's Config (qlora's target
    modules are all-linear, lora's q/v, though the loose composed schema holds one of them)."""
    cfg = compose(None, [f"method={name}"])
    own = dataclasses.asdict(get_method(name).Config())
    assert {k: (v.value if hasattr(v, "value") else v) for k, v in dict(cfg.method).items()} == {
        k: (v.value if hasattr(v, "value") else v) for k, v in own.items()
    }
    assert compose(None, ["method=qlora"]).method.target_modules == ["all-linear"]


@pytest.mark.parametrize(
    "method,field,value",
    [
        ("ptuning_v2", "encoder_hidden_size", 64),
        ("freeze", "train_embeddings", True),
        ("freeze", "train_lm_head", True),
        ("lora", "r", 16),
        ("lora", "target_modules", "[all-linear]"),
        ("qlora", "use_dora", True),
    ],
)
def test_a_change_that_does_not_fit_the_checkpoint_refuses_resume(method, field, value, tmp_path):
    from omegaconf import OmegaConf

    from tune.train.checkpoints import compare_resumed_config

    OmegaConf.save(compose(None, [f"method={method}"]), tmp_path / "config.yaml", resolve=True)
    assert compare_resumed_config(compose(None, [f"method={method}", "trainer.learning_rate=1e-3"]), str(tmp_path)) == [
        "tune: resuming with trainer.learning_rate=0.001 (the run had 0.0002)"
    ]
    with pytest.raises(ConfigError, match=f"trainer.resume: method.{field} was"):
        compare_resumed_config(compose(None, [f"method={method}", f"method.{field}={value}"]), str(tmp_path))


def test_method_fields_are_read_only_inside_methods():
    """Outside methods/, nothing reads a method's own field (method.r, "target_modules", ...): ask the Method."""
    import re
    from pathlib import Path

    import tune

    root = Path(tune.__file__).parent
    names = {f.name for m in METHODS.values() for f in dataclasses.fields(m.Config)} - {"name"}
    hits = []
    for path in root.rglob("*.py"):
        if "methods" in path.relative_to(root).parts:
            continue
        text = path.read_text(encoding="utf-8")
        for field in names:
            if re.search(rf"method(_cfg)?\.{field}\b|[\"']{field}[\"']", text):
                hits.append((str(path.relative_to(root)), field))
    assert hits == []
