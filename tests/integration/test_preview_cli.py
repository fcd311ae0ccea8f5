"""`tune preview` as an outside checker uses it: JSONL contract, summary on stderr, one-line errors."""
import json

import pytest

from tests.conftest import shared
from tests.helpers import run_tune

@pytest.mark.parametrize("rel,fmt,template", [
    ("sharegpt/dummy_conversation.json", "sharegpt", "vicuna_v1.1"),
    ("alpaca/alpaca_zh_demo.json", "alpaca", "chatglm2"),
    ("messages/v1_sft_demo.jsonl", "openai", "chatml"),
])
def test_preview_jsonl_contract(rel, fmt, template, tmp_path):
    out = tmp_path / "p.jsonl"
    r = run_tune("preview", f"data.path={shared(rel)}", f"data.format={fmt}", f"template={template}",
            "data.max_length=128", "preview.limit=50", f"preview.out={out}")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 50
    from transformers import AutoTokenizer
    from tune.models.tiny import tiny_model_dir
    tok = AutoTokenizer.from_pretrained(tiny_model_dir())
    for row in rows:
        assert set(row) == {"messages", "text", "input_ids", "labels"}
        assert len(row["input_ids"]) == len(row["labels"]) <= 128
        # the ids are one call on the exact rendered text shown (cut to max_length)
        assert row["input_ids"] == tok(row["text"], add_special_tokens=False)["input_ids"][: len(row["input_ids"])]
        assert all(l == -100 or l == t for t, l in zip(row["input_ids"], row["labels"]))
        assert any(l != -100 for l in row["labels"])
        assert {m["role"] for m in row["messages"]} <= {"system", "user", "assistant", "tool"}
    assert "records read" in r.stderr and "examples kept" in r.stderr


def test_preview_text_view_brackets_labels(tmp_path):
    data = tmp_path / "d.json"
    data.write_text(json.dumps([{"instruction": "Say hi", "input": "", "output": "hi"}]))
    r = run_tune("preview", f"data.path={data}", "template=vicuna_v1.1", "preview.format=text")
    assert r.returncode == 0, r.stderr
    assert "ASSISTANT:[[ hi</s>]]" in r.stdout  # the space before an answer is part of it


def test_bad_record_one_line_error_and_exit_code(tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "c", "outptu": "d"}\n')
    r = run_tune("preview", f"data.path={data}", "data.format=alpaca")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == f"tune: {data}:2: output: missing"


def test_unknown_template_lists_valid_names():
    r = run_tune("preview", "template=nope")
    assert r.returncode == 2
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("tune: template=nope: unknown template (valid: ") and "vicuna_v1.1" in last


def test_misspelt_key_names_the_key():
    r = run_tune("preview", "data.max_lenght=5")
    assert r.returncode == 2
    last = r.stderr.strip().splitlines()[-1]
    assert "data.max_lenght" in last and "max_length" in last


def test_missing_file():
    r = run_tune("preview", "data.path=/no/such/file.json")
    assert r.returncode == 2 and "no such file" in r.stderr.strip().splitlines()[-1]


def test_streaming_preview_matches_in_memory(tmp_path):
    src = shared("huatuo/llama_data.json")
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    common = ["preview", f"data.path={src}", "data.format=huatuo", "template=huatuo", "data.max_length=96",
              "preview.limit=40"]
    ra = run_tune(*common, f"preview.out={a}")
    rb = run_tune(*common, f"preview.out={b}", "data.streaming=true")
    assert ra.returncode == 0 and rb.returncode == 0, rb.stderr
    assert a.read_text() == b.read_text()


def test_packed_preview_shows_the_rows_training_gets(tmp_path):
    """data.packing=true: preview prints the packed rows of the same prepare() the trainer iterates."""
    from transformers import AutoTokenizer
    from tune import compose
    from tune.data.prepare import prepare
    from tune.data.templates import get_template
    from tune.models.tiny import tiny_model_dir

    data = shared("sharegpt/dummy_conversation.json")
    args = [
        f"data.path={data}",
        "data.format=sharegpt",
        "template=vicuna_v1.1",
        "data.max_length=256",
        "data.packing=true",
    ]
    out = tmp_path / "p.jsonl"
    r = run_tune("preview", *args, f"preview.out={out}")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    tok = AutoTokenizer.from_pretrained(tiny_model_dir())
    train = prepare(compose(None, args).data, tok, get_template("vicuna_v1.1", tok)).train
    assert len(rows) == len(train) < sum(len(r["examples"]) for r in rows)
    for row, trained in zip(rows, train):
        assert set(row) == {"examples", "input_ids", "labels", "position_ids"}
        assert [row["input_ids"], row["labels"], row["position_ids"]] == [
            trained["input_ids"],
            trained["labels"],
            trained["position_ids"],
        ]
        assert all(e.startswith(str(data)) and e.rsplit(":", 1)[1].isdigit() for e in row["examples"])
        assert row["position_ids"].count(0) == len(row["examples"])
