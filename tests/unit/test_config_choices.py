"""Choice fields are typed: a value outside the choices fails at compose with one line naming them; each command's
arguments sit in their own group, with the short top-level spellings still accepted; trainer.resume (a string,
since it takes paths) is checked before anything loads."""
from __future__ import annotations

import pytest

from tune import compose
from tune.config import command_overrides
from tune.errors import ConfigError


@pytest.mark.parametrize("override,choices", [
    ("data.on_error=sometimes", "raise, skip"),
    ("data.format=xml", "auto, alpaca"),
    ("data.instruction_mode=random", "none, fixed, per_sample"),
    ("trainer.precision=fp8", "auto, bf16, fp16, fp32"),
    ("preview.format=html", "jsonl, text"),
    ("method.name=adapterx", "freeze, full, lora, ptuning_v2, qlora"),
])
def test_invalid_choice_fails_at_compose_naming_the_choices(override, choices):
    with pytest.raises(ConfigError, match=f"is not one of {choices}"):
        compose(None, [override])


def test_qlora_choices_are_typed_too():
    with pytest.raises(ConfigError, match="method.quant_type: 'int3' is not one of nf4, fp4"):
        compose(None, ["method=qlora", "method.quant_type=int3"])


def test_choices_compare_and_print_as_strings():
    cfg = compose(None, ["data.on_error=skip", "template=vicuna_v1.1"])
    assert cfg.data.on_error == "skip" and f"{cfg.template.name}" == "vicuna_v1.1" and str(cfg.method.name) == "lora"


@pytest.mark.parametrize(
    "command,given,want",
    [
        ("chat", ["checkpoint=run", "max_new_tokens=8"], ["chat.checkpoint=run", "chat.max_new_tokens=8"]),
        (
            "generate",
            ["checkpoint=run", "input=a.jsonl", "out=b.jsonl"],
            ["generate.checkpoint=run", "generate.input=a.jsonl", "generate.out=b.jsonl"],
        ),
        ("export", ["checkpoint=run", "out=x"], ["export.checkpoint=run", "export.out=x"]),
        (
            "eval",
            ["checkpoint=run", "eval.limit=3", "data.path=d.json"],
            ["eval.checkpoint=run", "eval.limit=3", "data.path=d.json"],
        ),
        ("train", ["trainer.max_steps=3"], ["trainer.max_steps=3"]),
    ],
)
def test_short_spellings_map_to_the_commands_group(command, given, want):
    assert command_overrides(command, given) == want
    cfg = compose(None, want)
    if command in ("chat", "generate", "export", "eval"):
        assert cfg[command].checkpoint == "run"


def test_a_missing_resume_folder_fails_before_anything_loads(tmp_path, monkeypatch):
    from tune.train import run

    def never(*a, **k):
        raise AssertionError("loaded the model before checking trainer.resume")

    monkeypatch.setattr(run, "resolve_model_path", never)
    with pytest.raises(ConfigError, match="trainer.resume: checkpoint folder"):
        run.run_training(compose(None, [f"trainer.resume={tmp_path / 'nope'}", f"trainer.output_dir={tmp_path}"]))
