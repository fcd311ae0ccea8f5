"""A damaged model input is one line naming the file and what is wrong, exit 2, wherever a model is loaded: for
training (the base), and on every reload path (chat and export of a full run's model, of an adapter)."""
import json
import os
import shutil

import pytest

from tests.helpers import last_line, run_tune
from tune.errors import ConfigError
from tune.models.integrity import check_model_files, safetensors_problem
from tune.models.load import load_causal_lm, load_tokenizer_from


def cut(path, keep):
    data = open(path, "rb").read()
    open(path, "wb").write(data[:keep] if keep >= 0 else data[:keep])


def damage(folder, kind) -> str:
    """Damage a model folder one way; returns the file name the error must name."""
    weights = os.path.join(folder, "model.safetensors")
    if kind == "cut in the header":
        cut(weights, 100)
    elif kind == "cut in the tensor data":
        cut(weights, -1000)
    elif kind == "padded":
        open(weights, "ab").write(b"\0" * 16)
    elif kind == "missing shard":
        os.rename(weights, os.path.join(folder, "model-00001-of-00002.safetensors"))
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                                                      "b": "model-00002-of-00002.safetensors"}}, f)
        return "model.safetensors.index.json"
    elif kind == "config.json not JSON":
        cut(os.path.join(folder, "config.json"), 20)
        return "config.json"
    return "model.safetensors"


KINDS = ["cut in the header", "cut in the tensor data", "padded", "missing shard", "config.json not JSON"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_damage_is_one_line_naming_the_file(kind, tiny_dir, tmp_path):
    folder = str(tmp_path / "model")
    shutil.copytree(tiny_dir, folder)
    check_model_files(folder)  # the sound copy passes
    name = damage(folder, kind)
    for load in (load_tokenizer_from, load_causal_lm):  # training loads the tokenizer first, then the weights
        with pytest.raises(ConfigError) as err:
            load(folder)
        assert f"model file {os.path.join(folder, name)}:" in str(err.value) and "\n" not in str(err.value)


def test_a_sound_file_has_no_problem(tiny_dir):
    assert safetensors_problem(os.path.join(tiny_dir, "model.safetensors")) is None


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A full run and a LoRA run of the tiny model, one step each."""
    from tune import compose, train

    root = tmp_path_factory.mktemp("runs")
    for method in ("full", "lora"):
        train(compose("demo", [f"method={method}", "trainer.max_steps=1", f"trainer.output_dir={root / method}",
                               "trainer.report_to=[]"]))
    return root


@pytest.mark.parametrize("command,method,kind", [
    ("train", None, "cut in the tensor data"),
    ("chat", "full", "cut in the tensor data"),
    ("export", "full", "config.json not JSON"),
    ("chat", "lora", "adapter cut"),
    ("export", "lora", "adapter cut"),
])
def test_commands_name_the_damaged_file(command, method, kind, runs, tiny_dir, tmp_path):
    if command == "train":
        folder = str(tmp_path / "base")
        shutil.copytree(tiny_dir, folder)
        name = damage(folder, kind)
        r = run_tune("train", "recipe=demo", f"model.name_or_path={folder}", "trainer.max_steps=1",
                     f"trainer.output_dir={tmp_path / 'run'}")
        assert not (tmp_path / "run").exists()
    else:
        run = tmp_path / "run"
        shutil.copytree(runs / method, run)
        folder = str(run / "model")
        if kind == "adapter cut":
            name = "adapter_model.safetensors"
            cut(os.path.join(folder, name), -100)
        else:
            name = damage(folder, kind)
        args = [f"checkpoint={run}"] + ([f"out={tmp_path / 'export'}"] if command == "export" else [])
        r = run_tune(command, *args, stdin="Hi\n")
    assert r.returncode == 2, r.stderr[-2000:]
    assert last_line(r.stderr).startswith(f"tune: model file {os.path.join(folder, name)}: "), r.stderr[-2000:]
