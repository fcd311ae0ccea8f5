"""data_prep scripts on the real samples (and generated dumps where no real one fits here): every valid
Q/A record comes out, and `tune preview` accepts the output with nothing skipped."""
import json
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import REPO, shared
from tune.data.config import DataConfig


def prep(name, inp, out, *extra):
    r = subprocess.run([sys.executable, str(REPO / "data_prep" / f"{name}.py"), "--in", str(inp), "--out", str(out),
                        *extra], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stderr.strip().splitlines()[-1]


def previewed(path, fmt, tokenizer):
    from tune.data.dataset import build_dataset
    from tune.data.templates import get_template

    cfg = DataConfig(path=str(path), format=fmt, max_length=10 ** 7)
    ds, summary = build_dataset(cfg, tokenizer, get_template("chatml", tokenizer))
    assert not summary.skipped and summary.no_labelled_token == 0
    return summary.examples_kept


def test_medical_dialogue_real_sample(tmp_path, tokenizer):
    out = tmp_path / "md.jsonl"
    line = prep("medical_dialogue", shared("medical_dialogue/internal_medicine_sample.csv"), out)
    assert "records in 1500, written 1500, skipped 0" in line
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert sum("\n" in r["output"] or "\n" in r["instruction"] for r in rows) >= 1  # quoted newlines survive
    assert previewed(out, "huatuo", tokenizer) == 1500
    before = out.read_bytes()
    prep("medical_dialogue", shared("medical_dialogue/internal_medicine_sample.csv"), out)
    assert out.read_bytes() == before  # idempotent


@pytest.mark.parametrize("rel", ["sharegpt/dummy_conversation.json", "sharegpt/glaive_toolcall_en_demo.json"])
def test_sharegpt_real_samples(rel, tmp_path, tokenizer):
    out = tmp_path / "sg.jsonl"
    line = prep("sharegpt", shared(rel), out)
    raw = json.loads(shared(rel).read_text())
    unique = {json.dumps(r["conversations"], ensure_ascii=False) for r in raw}
    assert f"written {len(unique)}," in line, line  # only exact duplicates go
    assert previewed(out, "sharegpt", tokenizer) == len(unique)


def test_sharegpt_html_broken_language_and_split(tmp_path, tokenizer):
    raw = [
        {
            "id": "a",
            "conversations": [
                {"from": "human", "value": "Hi"},
                {"from": "gpt", "value": "<div><p>Hello <strong>there</strong></p><pre><code>x = 1</code></pre></div>"},
            ],
        },
        {"id": "b", "conversations": [{"from": "human", "value": "Hi"}, {"from": "human", "value": "again"}]},
        {"id": "c", "conversations": [{"from": "human", "value": "你好"}, {"from": "gpt", "value": "你好！"}]},
        {"id": "d", "conversations": []},
        {
            "id": "e",
            "conversations": [
                {"from": "gpt", "value": "lead"},
                {"from": "human", "value": "q1 " * 50},
                {"from": "gpt", "value": "a1 " * 50},
                {"from": "human", "value": "q2 " * 50},
                {"from": "gpt", "value": "a2 " * 50},
                {"from": "human", "value": "tail"},
            ],
        },
    ]
    src = tmp_path / "raw.json"
    src.write_text(json.dumps(raw))
    out = tmp_path / "out.jsonl"
    line = prep("sharegpt", src, out, "--lang", "en", "--max-tokens", "150")
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rows[0]["conversations"][1]["value"].startswith("Hello **there**")
    assert "```" in rows[0]["conversations"][1]["value"] or "x = 1" in rows[0]["conversations"][1]["value"]
    assert [r["id"] for r in rows] == ["a", "e_0", "e_1"]
    assert all(r["conversations"][0]["from"] == "human" for r in rows)
    assert "turns do not alternate: 1" in line and "language is not en: 1" in line and "no conversations: 1" in line
    assert previewed(out, "sharegpt", tokenizer) == 3


def _write_cmedqa2(folder, encoding, zipped):
    q = "question_id,content\n1,头痛怎么办？\n2,发烧了:\n"
    a = "ans_id,question_id,content\n10,1,多休息。\n11,1,吃止痛药。\n12,2,多喝水。\n13,9,孤儿回答\n14,2,\n"
    for stem, text in (("question", q), ("answer", a)):
        data = text.encode(encoding)
        if zipped:
            with zipfile.ZipFile(folder / f"{stem}.zip", "w") as z:
                z.writestr(f"{stem}.csv", data)
        else:
            (folder / f"{stem}.csv").write_bytes(data)


@pytest.mark.parametrize("encoding,zipped", [("utf-8", False), ("gb18030", True)])
def test_cmedqa2_join(encoding, zipped, tmp_path, tokenizer):
    _write_cmedqa2(tmp_path, encoding, zipped)
    out = tmp_path / "c.jsonl"
    line = prep("cmedqa2", tmp_path, out)
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(r["question"], r["answer"]) for r in rows] == [
        ("头痛怎么办？", "多休息。"),
        ("头痛怎么办？", "吃止痛药。"),
        ("发烧了", "多喝水。"),
    ]
    assert "answer to an unknown question_id: 1" in line and "empty answer: 1" in line
    assert previewed(out, "cmedqa2", tokenizer) == 3
    merged = tmp_path / "m.jsonl"
    prep("cmedqa2", tmp_path, merged, "--merge-answers")
    rows = [json.loads(x) for x in merged.read_text().splitlines()]
    assert rows[0]["answer"] == "1.多休息。\n2.吃止痛药。\n"


def test_belle_multiturn_unpacked(tmp_path, tokenizer):
    src = tmp_path / "belle.jsonl"
    src.write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [
                {"instruction": "Human: 你好\nAssistant: 你好！\nHuman: 1+1=?\nAssistant:", "input": "", "output": "2"},
                {"instruction": "写诗", "input": "", "output": "春眠不觉晓"},
                {"instruction": "Human: x\nAssistant:", "input": "", "output": ""},
            ]
        )
        + "\n"
    )
    out = tmp_path / "b.jsonl"
    line = prep("belle", src, out)
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [m["role"] for m in rows[0]["messages"]] == ["user", "assistant", "user", "assistant"]
    assert "output: empty: 1" in line
    assert previewed(out, "openai", tokenizer) == 2


def test_dolly_context_into_input(tmp_path, tokenizer):
    src = tmp_path / "dolly.jsonl"
    src.write_text(
        json.dumps({"instruction": "Who?", "context": "Ctx", "response": "Him", "category": "closed_qa"})
        + "\n"
        + json.dumps({"instruction": "Why?", "context": "", "response": "Because", "category": "open_qa"})
        + "\n"
    )
    out = tmp_path / "d.jsonl"
    prep("dolly", src, out)
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rows[0]["input"] == "Ctx" and rows[1]["input"] == ""
    assert previewed(out, "alpaca", tokenizer) == 2
