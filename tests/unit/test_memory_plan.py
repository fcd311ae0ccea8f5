"""trainer.gradient_checkpointing=auto against the memory estimate (train/memory.py): off when the run fits
without it, on when only checkpointing fits, one line with settings that fit when nothing does; P-Tuning never
on; every suggested setting fits when re-estimated; true/false/auto are the only spellings."""
import re
from dataclasses import replace
from types import SimpleNamespace

import pytest

from tune import compose
from tune.errors import ConfigError
from tune.train import memory
from tune.train.memory import GIB, ModelFacts, RunShape, estimate, plan_memory

# SmolLM2-135M's shape with LoRA on q/v
SMOL = ModelFacts(layers=30, hidden=576, intermediate=1536, vocab=49152, total=134_975_808, trainable=460_800,
                  layer_linear=106_168_320, adapted_inputs=2 * 576)
RUN = RunShape(micro_batch=8, seq_len=1024, accumulation=1, checkpointing=False, frozen_bytes=4, act_bytes=4,
               optimizer_bytes=8, zero_stage=0, world_size=1)
PROCESS = 0.5 * GIB


@pytest.fixture(autouse=True)
def fixed_process(monkeypatch):
    monkeypatch.setattr(memory, "resident_bytes", lambda: int(PROCESS))


def plan(limit_gb, setting="auto", can_checkpoint=True, run=RUN):
    return plan_memory(SMOL, run, setting, can_checkpoint, SimpleNamespace(memory_limit_gb=limit_gb), 1, False)


def total(run=RUN, facts=SMOL):
    return (replace(estimate(facts, run), process=PROCESS)).total / GIB


def test_auto_is_off_when_the_run_fits_without_checkpointing():
    p = plan(limit_gb=total() + 1)
    assert not p.checkpointing and "activation checkpointing off (auto: fits without it)" in p.line


def test_auto_is_on_when_only_checkpointing_fits():
    with_ck = total(replace(RUN, checkpointing=True))
    assert with_ck < total()
    p = plan(limit_gb=(with_ck + total()) / 2)
    assert p.checkpointing and "activation checkpointing on (auto: needed to fit)" in p.line


def test_nothing_fits_is_one_line_with_settings_that_fit_when_re_estimated():
    limit = total(replace(RUN, checkpointing=True)) * 0.6
    with pytest.raises(ConfigError) as err:
        plan(limit_gb=limit)
    line = str(err.value)
    assert "\n" not in line and line.startswith("memory: this run needs about") and "settings that fit: " in line
    tries = line.split("settings that fit: ")[1].split(" (trainer.memory_limit_gb")[0].split("; ")
    assert tries, line
    for t in tries:
        run, facts = replace(RUN, checkpointing=True), SMOL
        for key, value in re.findall(r"([\w.]+)=(\S+)", t):
            if key == "trainer.per_device_train_batch_size":
                run = replace(run, micro_batch=int(value))
            elif key == "trainer.gradient_accumulation_steps":
                run = replace(run, accumulation=int(value))
                assert run.micro_batch * run.accumulation == RUN.micro_batch  # the optimiser step is kept
            elif key == "data.max_length":
                run = replace(run, seq_len=int(value))
            elif key == "method" and value == "qlora":
                facts = replace(SMOL, trainable=SMOL.trainable // 50)
                run = replace(run, frozen_bytes=memory.FOUR_BIT_BYTES, four_bit=True)
        assert total(run, facts) <= limit, t


def test_explicit_settings_are_kept_when_they_fit():
    assert plan(limit_gb=100, setting=True).checkpointing
    assert not plan(limit_gb=100, setting=False).checkpointing


def test_explicit_false_that_cannot_fit_suggests_checkpointing():
    limit = (total(replace(RUN, checkpointing=True)) + total()) / 2
    with pytest.raises(ConfigError, match="trainer.gradient_checkpointing=true"):
        plan(limit_gb=limit, setting=False)


def test_ptuning_never_turns_checkpointing_on():
    with_ck = total(replace(RUN, checkpointing=True))
    with pytest.raises(ConfigError) as err:
        plan(limit_gb=(with_ck + total()) / 2, can_checkpoint=False)
    assert "gradient_checkpointing=true" not in str(err.value)
    assert not plan(limit_gb=100, can_checkpoint=False).checkpointing


@pytest.mark.parametrize("value,expected", [("auto", "auto"), ("true", True), ("false", False), ("True", True)])
def test_the_setting_takes_true_false_auto(value, expected):
    assert compose(None, [f"trainer.gradient_checkpointing={value}"]).trainer.gradient_checkpointing == expected


def test_another_setting_is_one_line():
    with pytest.raises(ConfigError, match="give true, false or auto"):
        compose(None, ["trainer.gradient_checkpointing=sometimes"])


def test_ptuning_accepts_auto_and_refuses_true():
    compose(None, ["method=ptuning_v2"])  # auto, the default, means off for P-Tuning
    from tune.methods import get_method
    cfg = compose(None, ["method=ptuning_v2", "trainer.gradient_checkpointing=true"])
    with pytest.raises(ConfigError, match="does not work with trainer.gradient_checkpointing=true"):
        get_method("ptuning_v2").check(cfg)


def test_a_larger_run_needs_more():
    assert total(replace(RUN, micro_batch=4)) < total() and total(replace(RUN, seq_len=512)) < total()
    assert total(replace(RUN, checkpointing=True)) < total()
