"""Every adapter on the real samples in ../shared/data, quirks included, and on generated edge cases."""
import json

import pytest

from tests.conftest import shared
from tune.data.dataset import Source, load_conversations
from tune.data.formats import FORMATS, detect_format
from tune.data.conversation import InvalidConversation
from tune.errors import DataError

REAL = [  # file, format auto must choose, records, encoding, records without an answer (skipped)
    ("alpaca/alpaca_en_demo.json", "alpaca", 999, "utf-8"),
    ("alpaca/alpaca_zh_demo.json", "alpaca", 1000, "utf-8"),
    ("alpaca/identity.json", "alpaca", 91, "utf-8"),
    ("huatuo/llama_data.json", "alpaca", 1500, "utf-8"),
    ("sharegpt/dummy_conversation.json", "sharegpt", 500, "utf-8"),
    ("sharegpt/glaive_toolcall_en_demo.json", "sharegpt", 300, "utf-8"),
    ("messages/v1_sft_demo.jsonl", "openai", 500, "utf-8"),
    ("medical_dialogue/internal_medicine_sample.csv", "qa", 1500, "gb18030"),
    ("belle_eval/eval_set.json", "qa", 1000, "utf-8"),  # some open-ended items have an empty std_answer
]
NO_ANSWER = {"belle_eval/eval_set.json": ("std_answer: empty", 369)}


@pytest.mark.parametrize("rel,fmt,n,enc", REAL, ids=[r[0] for r in REAL])
def test_real_samples_load_completely_with_auto_detection(rel, fmt, n, enc):
    rows, summary = load_conversations(Source(str(shared(rel)), "auto", encoding=enc), "skip")
    assert summary.sources == [f"{shared(rel)} (format {fmt}, auto-detected)"]
    assert summary.records_read == n
    reason, n_skipped = NO_ANSWER.get(rel, (None, 0))
    assert dict(summary.skipped) == ({reason: n_skipped} if n_skipped else {})
    assert len(rows) == n - n_skipped
    for row in rows:
        roles = [m["role"] for m in row["messages"]]
        assert roles[-1] == "assistant"
        assert all(m["content"].strip() for m in row["messages"])


def convert(fmt, record):
    return FORMATS[fmt].to_conversation(record).to_dicts()


def simple(rows):
    return [(m["role"], m["content"]) for m in rows]


def test_alpaca_empty_input_is_ignored_and_input_joins_instruction():
    path = shared("alpaca/alpaca_en_demo.json")
    records = json.loads(path.read_text())
    empty = next(r for r in records if r["input"] == "")
    full = next(r for r in records if r["input"].strip())
    assert simple(convert("alpaca", empty))[0] == ("user", empty["instruction"])
    assert simple(convert("alpaca", full))[0] == ("user", full["instruction"] + "\n\n" + full["input"])


def test_alpaca_system_and_history():
    rec = {"instruction": "q2", "input": "", "output": "a2", "system": "S", "history": [["q1", "a1"]], "extra": 1}
    assert simple(convert("alpaca", rec)) == [("system", "S"), ("user", "q1"), ("assistant", "a1"),
                                              ("user", "q2"), ("assistant", "a2")]


def test_identity_placeholders_are_kept_verbatim():
    rec = json.loads(shared("alpaca/identity.json").read_text())[0]
    assert "{{name}}" in convert("alpaca", rec)[-1]["content"]


def test_glaive_tool_roles_and_tools():
    rec = json.loads(shared("sharegpt/glaive_toolcall_en_demo.json").read_text())[0]
    conv = FORMATS["sharegpt"].to_conversation(rec)
    roles = [m.role for m in conv.messages]
    assert "tool" in roles
    call = conv.messages[roles.index("tool") - 1]
    assert call.role == "assistant" and call.content.startswith('{"name"')
    assert conv.tools and json.loads(conv.tools)


def test_messages_content_parts_and_loss_weight():
    rec = json.loads(shared("messages/v1_sft_demo.jsonl").read_text().splitlines()[0])
    rows = convert("openai", rec)
    assert simple(rows) == [("user", "hi"), ("assistant", rec["messages"][1]["content"][0]["value"])]
    rec["messages"][1]["loss_weight"] = 0.0
    assert (
        convert(
            "openai",
            {"messages": rec["messages"] + [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]},
        )[1]["train"]
        is False
    )


def test_openai_system_and_assistant_without_user_is_kept():
    rows = convert(
        "openai", {"messages": [{"role": "system", "content": "S"}, {"role": "assistant", "content": "Hi!"}]}
    )
    assert simple(rows) == [("system", "S"), ("assistant", "Hi!")]


def test_sharegpt_edge_cases():
    rec = {
        "system": "top",
        "conversations": [
            {"from": "system", "value": "inner"},
            {"from": "human", "value": "a"},
            {"from": "human", "value": "b"},
            {"from": "gpt", "value": ""},
            {"from": "gpt", "value": "c"},
            {"from": "human", "value": "dangling"},
        ],
    }
    assert simple(convert("sharegpt", rec)) == [("system", "top\ninner"), ("user", "a\nb"), ("assistant", "c")]


def test_sharegpt_without_answer_is_invalid():
    with pytest.raises(InvalidConversation, match="no assistant content"):
        convert("sharegpt", {"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": " "}]})


def test_sharegpt_unknown_role_names_the_field():
    with pytest.raises(InvalidConversation) as err:
        convert("sharegpt", {"conversations": [{"from": "narrator", "value": "a"}]})
    assert err.value.field == "conversations[0].from"


def test_belle_multiturn_text_is_split_into_turns():
    rec = {
        "instruction": "Human: 你好\nAssistant: 你好！有什么可以帮你？\nHuman: 讲个笑话\nAssistant:",
        "input": "",
        "output": "从前有座山。",
    }
    assert detect_format([rec]) == "belle"
    assert simple(convert("belle", rec)) == [
        ("user", "你好"),
        ("assistant", "你好！有什么可以帮你？"),
        ("user", "讲个笑话"),
        ("assistant", "从前有座山。"),
    ]
    plain = {"instruction": "写一首诗", "input": "", "output": "春眠不觉晓"}
    assert simple(convert("belle", plain)) == [("user", "写一首诗"), ("assistant", "春眠不觉晓")]


def test_dolly_context_is_folded_into_the_user_turn():
    rec = {"instruction": "Who?", "context": "Ctx.", "response": "Him.", "category": "closed_qa"}
    assert detect_format([rec]) == "dolly"
    assert simple(convert("dolly", rec)) == [("user", "Who?\n\nCtx."), ("assistant", "Him.")]
    assert simple(convert("dolly", dict(rec, context="")))[0] == ("user", "Who?")


def test_firefly_single_and_multi_turn():
    single = {"kind": "Couplet", "input": "上联", "target": "下联"}
    multi = {
        "conversation_id": 1,
        "conversation": [{"human": "h1", "assistant": "a1"}, {"human": "h2", "assistant": "a2"}],
    }
    assert detect_format([single]) == detect_format([multi]) == "firefly"
    assert simple(convert("firefly", multi)) == [
        ("user", "h1"),
        ("assistant", "a1"),
        ("user", "h2"),
        ("assistant", "a2"),
    ]


def test_cmedqa2_joined_records():
    rec = {"question_id": 1, "ans_id": 7, "question": "头痛怎么办？", "answer": "多休息。"}
    assert detect_format([rec]) == "qa"
    assert simple(convert("cmedqa2", rec)) == [("user", "头痛怎么办？"), ("assistant", "多休息。")]


@pytest.mark.parametrize(
    "fmt,record,field",
    [
        ("alpaca", {"instruction": "x"}, "output"),
        ("alpaca", {"instruction": "x", "output": 3.5j}, "output"),
        ("alpaca", {"instruction": "", "input": " ", "output": "y"}, "instruction"),
        ("dolly", {"instruction": "x", "response": ""}, "response"),
        ("openai", {"messages": "hi"}, "messages"),
        ("openai", {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages[0].content[0]"),
    ],
)
def test_bad_records_name_their_field(fmt, record, field):
    with pytest.raises(InvalidConversation) as err:
        FORMATS[fmt].to_conversation(record)
    assert err.value.field == field


def test_on_error_raise_gives_file_line_field(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "c"}\n')
    with pytest.raises(DataError) as err:
        load_conversations(Source(str(p), "alpaca"), "raise")
    assert str(err.value) == f"{p}:2: output: missing"


def test_on_error_skip_counts_by_reason(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "c"}\nnot json\n[1]\n{"instruction": "d"}\n')
    rows, summary = load_conversations(Source(str(p), "alpaca"), "skip")
    assert len(rows) == 1 and summary.records_read == 5
    assert summary.skipped["output: missing"] == 2
    assert sum(summary.skipped.values()) == 4


def test_auto_detection_failure_is_clear(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"foo": 1}\n')
    with pytest.raises(DataError, match="data.format=auto"):
        load_conversations(Source(str(p)), "raise")
