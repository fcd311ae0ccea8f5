"""The tokenised-data cache: a second preparation reads the first one's examples and prints its summary; any
change to the data bytes, the fields that shape examples, the template or the tokenizer tokenises again."""
import json

import pytest

from tune import compose
from tune.data.prepare import prepare
from tune.data.templates import get_template
from tune.models.vocab import add_control_tokens

RECORDS = [{"instruction": "Name a colour.", "output": "Blue."}, {"instruction": "", "output": ""},
           {"instruction": "Add 2 and 3.", "input": "", "output": "5"}]


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n{broken\n", encoding="utf-8")
    return path


def run(cfg_overrides, tokenizer, cache_dir, monkeypatch, template="alpaca"):
    monkeypatch.setenv("TUNE_DATASETS_CACHE", str(cache_dir))
    cfg = compose(None, ["data.format=alpaca", "data.on_error=skip", f"template={template}", *cfg_overrides])
    lines = []
    data = prepare(cfg.data, tokenizer, get_template(template, tokenizer), log=lines.append)
    return data, lines


def hit(lines):
    return any("read from the cache" in line for line in lines)


def test_second_run_reads_the_cache_with_the_same_examples_and_summary(data_file, tokenizer, tmp_path, monkeypatch):
    first, lines1 = run([f"data.path={data_file}"], tokenizer, tmp_path / "c", monkeypatch)
    second, lines2 = run([f"data.path={data_file}"], tokenizer, tmp_path / "c", monkeypatch)
    assert not hit(lines1) and hit(lines2)
    assert [l for l in lines2 if "cache" not in l] == lines1  # the summary exactly as the first run printed it
    assert "skipped 2" in " ".join(lines1)
    assert second.examples.to_list() == first.examples.to_list()
    assert second.summary.to_dict() == first.summary.to_dict()


@pytest.mark.parametrize("change", ["bytes", "max_length", "train_on_prompt", "template", "tokenizer"])
def test_a_change_that_shapes_examples_tokenises_again(change, data_file, tokenizer, tmp_path, monkeypatch):
    run([f"data.path={data_file}"], tokenizer, tmp_path / "c", monkeypatch)
    overrides, template, tok = [f"data.path={data_file}"], "alpaca", tokenizer
    if change == "bytes":
        data_file.write_text(data_file.read_text().replace("Blue.", "Red."), encoding="utf-8")
    elif change == "max_length":
        overrides.append("data.max_length=40")
    elif change == "train_on_prompt":
        overrides.append("data.train_on_prompt=true")
    elif change == "template":
        template = "vicuna_v1.1"
    else:
        import copy
        tok = copy.deepcopy(tokenizer)
        add_control_tokens(tok, ["<|new_marker|>"], "test", True)
    data, lines = run(overrides, tok, tmp_path / "c", monkeypatch, template=template)
    assert not hit(lines)
    if change == "bytes":
        assert "Red." in data.examples[0]["text"]


def test_splitting_and_packing_reuse_the_same_entry(data_file, tokenizer, tmp_path, monkeypatch):
    run([f"data.path={data_file}"], tokenizer, tmp_path / "c", monkeypatch)
    _, lines = run([f"data.path={data_file}", "data.packing=true", "data.group_by_length=false"], tokenizer,
                   tmp_path / "c", monkeypatch)
    assert hit(lines)


def test_cache_off(data_file, tokenizer, tmp_path, monkeypatch):
    run([f"data.path={data_file}"], tokenizer, tmp_path / "c", monkeypatch)
    _, lines = run([f"data.path={data_file}", "data.cache=false"], tokenizer, tmp_path / "c", monkeypatch)
    assert not hit(lines)
