"""What tune never does by default: run a model's own code unless the user's command line grants it (a recipe or
a saved run cannot grant it to itself), or unpickle a DeepSpeed checkpoint unless the user says it is theirs."""
import json

import pytest

from tune import compose
from tune.errors import ConfigError


def test_a_recipe_cannot_grant_remote_code():
    with pytest.raises(ConfigError, match="add model.trust_remote_code=true"):
        compose("chatglm_ptuning")
    with pytest.raises(ConfigError, match="/elsewhere/model needs its own Python code"):
        compose("chatglm_ptuning", ["model.name_or_path=/elsewhere/model"])
    assert compose("chatglm_ptuning", ["model.trust_remote_code=true"]).model.trust_remote_code is True
    # the tiny default has no code of its own: the recipe's flag is dropped, not refused
    assert compose("chatglm_ptuning", ["model=tiny"]).model.trust_remote_code is False


def test_a_saved_run_cannot_grant_remote_code(tmp_path):
    from tune.infer.load import load_trained

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "tune.json").write_text(json.dumps({
        "base_model": str(tmp_path / "evil"), "template": "chatml", "method": "full", "adapter": False,
        "config": {"model": {"trust_remote_code": True}}}))
    with pytest.raises(ConfigError, match="trained with model.trust_remote_code=true"):
        load_trained(str(tmp_path))


def test_deepspeed_resume_needs_the_users_word(tmp_path):
    from tune.train.run import check_resume_safety

    cfg = compose(None, ["deepspeed=zero2"])
    with pytest.raises(ConfigError, match="trainer.trust_checkpoint_pickles=true"):
        check_resume_safety(cfg, str(tmp_path / "checkpoint-4"))
    check_resume_safety(cfg, None)  # a fresh run unpickles nothing
    check_resume_safety(compose(None, ["deepspeed=zero2", "trainer.trust_checkpoint_pickles=true"]), "ckpt")
    check_resume_safety(compose(None, []), str(tmp_path / "checkpoint-4"))  # plain resume: tensors only


def test_no_output_over_an_input_or_into_a_folder_tune_did_not_make(tmp_path):
    """preview.out = the data, generate out = its input, export into a folder of the user's files or over the run:
    each refused before anything is written; the inputs keep every byte."""
    from tune.infer.batch import generate_file
    from tune import export as export_model
    from tune.outputs import EXPORT_MARKER, check_replaceable_folder
    from tune.cli.preview import run_preview

    data = tmp_path / "d.jsonl"
    data.write_text('{"instruction": "q", "output": "a"}\n')
    before = data.read_bytes()
    with pytest.raises(ConfigError, match="preview.out: .* is also an input"):
        run_preview(compose(None, [f"data.path={data}", f"preview.out={data}"]))
    gen = compose(None, [f"generate.input={data}", f"generate.out={data}", f"generate.checkpoint={tmp_path}"]).generate
    with pytest.raises(ConfigError, match="out: .* is also an input"):
        generate_file(gen)
    assert data.read_bytes() == before

    run = tmp_path / "run"
    (run / "checkpoint-2").mkdir(parents=True)
    (run / "metrics.jsonl").write_text("{}\n")
    with pytest.raises(ConfigError, match="which this command reads"):
        export_model(str(run), str(run))
    with pytest.raises(ConfigError, match="which this command reads"):
        export_model(str(run), str(tmp_path))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="files tune did not write"):
        export_model(str(run), str(mine))
    assert (mine / "notes.txt").read_text() == "keep me" and (run / "metrics.jsonl").exists()
    earlier = tmp_path / "export"
    earlier.mkdir()
    (earlier / EXPORT_MARKER).write_text("{}")
    (earlier / "model.safetensors").write_text("old")
    check_replaceable_folder(str(earlier), "out", EXPORT_MARKER, protected=[str(run)])  # tune's own: replaceable
    check_replaceable_folder(str(tmp_path / "new"), "out", EXPORT_MARKER)


@pytest.mark.parametrize("override,needle", [
    ("+trainer.some_misspelt_key=1", "trainer.some_misspelt_key: unknown key"),
    ("+data.nope.deeper=1", "data.nope: unknown key"),
    ("trainer.max_steps=0", "trainer.max_steps=0"),
    ("trainer.learning_rate=-1", "trainer.learning_rate=-1"),
    ("trainer.per_device_train_batch_size=0", "give 1 or more"),
    ("trainer.gradient_accumulation_steps=0", "trainer.gradient_accumulation_steps=0"),
    ("data.max_length=1", "data.max_length=1"),
])
def test_values_that_cannot_train_are_refused_at_compose(override, needle):
    with pytest.raises(ConfigError, match=needle.replace("+", r"\+")):
        compose(None, [override])


def test_free_mappings_still_take_added_keys(tmp_path):
    assert compose(
        None, ["deepspeed=zero2", "+deepspeed.config.wall_clock_breakdown=true"]
    ).deepspeed.config.wall_clock_breakdown
    with pytest.raises(ConfigError, match="method.r=0"):
        compose(None, ["method=lora", "method.r=0"])
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        compose(None, [f"trainer.output_dir={f}"])


@pytest.mark.parametrize("left", [("tmp", "old"), ("tmp",), ("old",)])
def test_a_final_save_cut_between_renames_is_completed(left, tmp_path):
    from tune.infer.load import find_model_dir
    from tune.rundir import RunDir

    folders = {"tmp": tmp_path / ".model.tmp", "old": tmp_path / "model.old"}
    for name in left:
        folders[name].mkdir()
        (folders[name] / "tune.json").write_text(
            json.dumps({"method": "full", "template": name, "base_model": "b", "adapter": False})
        )
    path, meta = find_model_dir(str(tmp_path))
    assert path.endswith("model") and meta.template == left[0]  # the new model when it is complete
    assert RunDir(str(tmp_path)).recover_final_dir() is False  # nothing left to do


def test_an_empty_model_folder_is_one_line(tmp_path):
    from tune.models.load import load_tokenizer_from

    with pytest.raises(ConfigError, match="is empty"):
        load_tokenizer_from(str(tmp_path))
