"""Optional packages are extras (pyproject.toml), and a command that needs a missing one says which in one line,
before anything loads."""
from __future__ import annotations

import tomllib

import pytest

import tune.extras as extras
from tests.conftest import REPO
from tune import compose
from tune.errors import ConfigError

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
IMPORT_NAMES = {"beautifulsoup4": "bs4", "rouge-chinese": "rouge_chinese"}


def distribution(requirement: str) -> str:
    return requirement.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip()


def test_extras_match_pyproject_and_stay_out_of_the_plain_install():
    declared = PYPROJECT["optional-dependencies"]
    assert set(extras.EXTRAS) == set(declared) - {"all", "test"}
    for extra, modules in extras.EXTRAS.items():
        assert {IMPORT_NAMES.get(distribution(r), distribution(r)) for r in declared[extra]} == set(modules)
    plain = {distribution(r) for r in PYPROJECT["dependencies"]}
    assert not plain & {distribution(r) for name in extras.EXTRAS for r in declared[name]}
    assert declared["all"] == [f"tune[{','.join(extras.EXTRAS)}]"] and "tune[all]" in declared["test"]


def lacking(monkeypatch, extra: str) -> None:
    real = extras.missing
    monkeypatch.setattr(extras, "missing", lambda name: list(extras.EXTRAS[name]) if name == extra else real(name))


def call_eval():
    from tune.infer.evaluate import run_eval
    run_eval(compose(None, ["eval.checkpoint=/nonexistent"]))


def call_train_check():
    from tune.train.run import check_compatibility
    check_compatibility(compose(None, ["deepspeed=zero2"]))


def call_8bit_optimiser_check():
    from tune.train.run import check_compatibility
    check_compatibility(compose(None, ["trainer.optim=adamw_8bit"]))


def call_quantised_base():
    from tune.models.quantize import quantized_base
    quantized_base("qlora", 4, None)


def call_sharegpt_cleaning():
    from tune.prep.sharegpt import html_to_markdown
    html_to_markdown("<p>an <strong>HTML</strong> answer</p>")


def call_gguf_reading():
    from tune.models.gguf import read_metadata
    read_metadata("/nonexistent.gguf")


@pytest.mark.parametrize("extra,call,setting", [
    ("eval", call_eval, "tune eval"),
    ("deepspeed", call_train_check, "deepspeed=zero2"),
    ("qlora", call_8bit_optimiser_check, "trainer.optim=adamw_8bit"),
    ("qlora", call_quantised_base, "method=qlora with a 4-bit base"),
    ("prep", call_sharegpt_cleaning, "ShareGPT's HTML answers"),
    ("gguf", call_gguf_reading, "model.name_or_path=FILE.gguf"),
])
def test_a_missing_extra_is_one_line_naming_it(monkeypatch, extra, call, setting):
    lacking(monkeypatch, extra)
    with pytest.raises(ConfigError) as err:
        call()
    message = str(err.value)
    assert "\n" not in message and message.startswith(setting) and f"pip install 'tune[{extra}]'" in message
