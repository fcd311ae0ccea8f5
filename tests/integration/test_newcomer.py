"""What a new user meets in the first hour: the documented spellings of data.columns, harmless metadata fields,
errors before the heavy imports, close-match hints, whole sentences in `tune list`."""
import json
import subprocess
import sys

import pytest

from tune import compose
from tune.data.dataset import load_conversations, sources_of

README_FORM = "data.columns={instruction: prompt, input: context, output: response}"


@pytest.mark.parametrize("spelling", [
    [README_FORM],
    ["data.columns.instruction=prompt", "data.columns.input=context", "data.columns.output=response"],
    ["+data.columns.instruction=prompt", "+data.columns.input=context", "+data.columns.output=response"],
])
def test_every_documented_columns_spelling_maps(spelling, tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"prompt": "Add 2 and 3.", "context": "", "response": "5"}) + "\n")
    cfg = compose(None, [f"data.path={path}", "data.format=alpaca", *spelling])
    assert dict(cfg.data.columns) == {"instruction": "prompt", "input": "context", "output": "response"}
    rows, _ = load_conversations(sources_of(cfg.data)[0], "raise")
    assert [m["content"] for m in rows[0]["messages"]] == ["Add 2 and 3.", "5"]


def test_the_form_the_auto_detect_error_suggests_composes(tmp_path):
    from tune.errors import DataError

    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"instruction": "Say hi.", "output": "Hi.", "notes": "x"}) + "\n")
    with pytest.raises(DataError, match=r"data.columns=(\{[^}]*\})") as err:
        load_conversations(sources_of(compose(None, [f"data.path={path}"]).data)[0])
    suggested = "data.columns=" + str(err.value).split("data.columns=")[1].split("}")[0] + "}"
    compose(None, [f"data.path={path}", suggested.replace("...", "output")])  # composes: no 'unknown key'


def test_metadata_and_ignored_fields_do_not_stop_auto_detection(tmp_path):
    path = tmp_path / "d.jsonl"
    rows = [{"instruction": "Say hi.", "output": "Hi.", "topic": "greetings", "notes": "mine"}] * 3
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    cfg = compose(None, [f"data.path={path}", "data.ignore_fields=[notes]"])
    kept, summary = load_conversations(sources_of(cfg.data)[0])
    assert len(kept) == 3
    assert summary.unread == {"notes": 3}
    assert any("fields left unread: notes (3 records)" in line for line in summary.lines())


@pytest.mark.parametrize("override,heavy,line", [
    ("trainer.learning_rat=1", ("torch", "transformers", "datasets", "deepspeed"), "did you mean learning_rate?"),
    ("data.path=/no/such/file.json", ("torch", "transformers", "deepspeed"), "/no/such/file.json: no such file"),
])
def test_a_config_error_comes_before_torch_is_imported(override, heavy, line):
    """A misspelt key, and a data file that is not there: one line before the model's libraries load."""
    code = (f"import sys\nfrom tune.cli import main\nrc = main(['train', {override!r}])\n"
            f"assert rc == 2, rc\nheavy = [m for m in {heavy!r} if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr.strip().splitlines() == [r.stderr.strip().splitlines()[-1]]  # one line, tune's own
    assert line in r.stderr


def test_a_misspelt_command_names_the_nearest(capsys):
    from tune.cli import main

    assert main(["trian"]) == 2
    assert "unknown command 'trian' (did you mean train?" in capsys.readouterr().err


@pytest.mark.parametrize("override,hint", [("template=chatlm", "chatml"), ("data=sharegtp", "sharegpt"),
                                           ("method=lroa", "lora"), ("recipe=vicuan", "vicuna")])
def test_hints_name_the_nearest_choice(override, hint):
    from tune.errors import ConfigError

    with pytest.raises(ConfigError, match=f"did you mean {hint}\\?"):
        compose(None, [override])


@pytest.mark.parametrize("kind", ["templates", "formats", "methods", "recipes", "datasets"])
def test_tune_list_lines_are_whole_sentences(kind):
    from tune.cli.commands import list_items

    items = list_items(kind)
    assert items
    for name, line in items:
        if kind == "datasets":  # "format F; bundled|expects PATH[; the YAML's note]"
            line = line.split("; ", 2)[2] if line.count("; ") >= 2 else "."
        if kind == "templates":  # the template's rendering of a one-turn chat, as a quoted string
            import ast
            from tune.data.conversation import Conversation
            from tune.data.templates import get_template
            chat = Conversation.from_dicts(
                [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
            )
            if name != "tokenizer":
                assert ast.literal_eval(line) == get_template(name).render_text(chat), (name, line)
        else:
            assert line.rstrip().endswith((".", ")")), (name, line)
