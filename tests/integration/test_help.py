"""Introspection: `tune --help`, `tune COMMAND --help` (fields, values after recipe/overrides, docs),
`--print-config` / `--cfg job` (the resolved config, nothing loaded), and `tune list KIND` a line per item."""
import subprocess
import sys

import pytest
import yaml

from tune.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_top_level_help(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "list" in out and "--print-config" in out


def test_command_help_shows_fields_values_and_docs(capsys):
    code, out, _ = run(capsys, "train", "recipe=demo", "method.name=full", "--help")
    assert code == 0
    assert "trainer.learning_rate = 0.003" in out  # the recipe's value, not the schema default
    line = next(l for l in out.splitlines() if l.strip().startswith("data.packing ="))
    assert "# pack examples into rows" in line
    code, out, _ = run(capsys, "export", "-h")
    assert "export.out = None" in out and "model.trust_remote_code" in out


@pytest.mark.parametrize("flag", [["--print-config"], ["--cfg", "job"]])
def test_print_config_loads_nothing(flag, capsys, monkeypatch):
    import tune.models.load as load

    monkeypatch.setattr(load, "load_causal_lm", lambda *a, **k: pytest.fail("loaded a model"))
    code, out, _ = run(capsys, "train", "recipe=demo", "trainer.max_steps=7", *flag)
    cfg = yaml.safe_load(out)
    assert code == 0 and cfg["trainer"]["max_steps"] == 7 and cfg["method"]["name"] == "full"


def test_a_bad_override_under_help_is_still_one_line(capsys):
    code, _, err = run(capsys, "train", "trainer.nope=1", "--help")
    assert code == 2 and err.count("\n") == 1


@pytest.mark.parametrize("kind,expected", [
    ("templates", {"chatml", "llama2", "llama3", "tokenizer"}), ("formats", {"alpaca", "sharegpt", "openai"}),
    ("methods", {"full", "freeze", "lora", "qlora", "ptuning_v2"}), ("recipes", {"demo", "vicuna", "alpaca_lora"}),
    ("datasets", {"demo", "alpaca", "sharegpt"})])
def test_list(kind, expected, capsys):
    code, out, _ = run(capsys, "list", kind)
    names = {l.split()[0] for l in out.splitlines() if l.strip()}
    assert code == 0 and expected <= names and all(len(l.split(None, 1)) == 2 for l in out.splitlines())


def test_module_entry_point_help():
    r = subprocess.run([sys.executable, "-m", "tune.train", "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "trainer.gradient_checkpointing" in r.stdout


def test_close_matches_and_named_datasets_say_where_to_get_them():
    from tune import compose
    from tune.data.dataset import sources_of
    from tune.errors import ConfigError

    for override, needle in (
        ("data.format=sharegtp", "did you mean sharegpt?"),
        ("template=chatm", "did you mean chatml?"),
        ("recipe=vicuan", "did you mean vicuna?"),
        ("trainer.learnig_rate=1", "did you mean learning_rate?"),
    ):
        with pytest.raises(ConfigError, match=needle):
            compose(None, [override])
    with pytest.raises(ConfigError, match=r"data=sharegpt: expects .* get it from .*data_prep/sharegpt.py"):
        sources_of(compose(None, ["data=sharegpt"]).data)
    assert sources_of(compose(None, ["data=demo"]).data)  # bundled: works offline by name


def test_serving_commands_refuse_a_template_they_would_ignore(capsys):
    for flag in ([], ["--print-config"], ["--help"]):  # the flags compose as the command does
        code, _, err = run(capsys, "chat", "checkpoint=/somewhere", "template=chatml", *flag)
        assert code == 2 and "uses the template the run was trained with" in err and err.count("\n") == 1, flag


def test_one_command_registry_drives_usage_help_and_short_spellings(capsys):
    """`tune --help` lists the registry's commands with their lines; each command with sections answers --help
    with those sections' fields; its own section's fields take the short spelling."""
    from tune.cli.commands import COMMANDS

    _, out, _ = run(capsys, "--help")
    for command in COMMANDS.values():
        assert f"  {command.name.ljust(8)}  {command.summary}" in out
    for command in (c for c in COMMANDS.values() if c.reads):
        code, out, _ = run(capsys, command.name, "--help")
        assert code == 0 and all(f"  {section.split('.')[0]}." in out for section in command.reads), command.name
    code, out, _ = run(capsys, "preview", "limit=3", "--print-config")
    assert code == 0 and yaml.safe_load(out)["preview"]["limit"] == 3
