"""Auto-detection never picks a format that leaves record fields unread, and data.columns maps custom field
names onto a format, so no format silently drops a field."""

import pytest

from tests.helpers import write_jsonl
from tune import compose
from tune.data.dataset import load_conversations, sources_of
from tune.errors import DataError

GPTEACHER = [{"instruction": f"Translate to French: {w}", "input": f"context {i}" if i % 10 else "", "response": w}
             for i, w in enumerate(["cat", "dog", "sun", "moon", "tree"] * 4)]


def write(tmp_path, rows, name="d.jsonl"):
    return write_jsonl(tmp_path / name, rows)


def load(path, *overrides):
    cfg = compose(None, [f"data.path={path}", *overrides]).data
    return load_conversations(sources_of(cfg)[0])


def test_detection_refuses_a_format_that_would_drop_a_field(tmp_path):
    path = write(tmp_path, GPTEACHER)
    with pytest.raises(DataError, match=r"look like dolly, which would leave field 'input' unread \(in 18 of 20"):
        load(path)


def test_columns_map_custom_fields_and_keep_them(tmp_path):
    path = write(tmp_path, GPTEACHER)
    rows, summary = load(path, "+data.columns={output: response}")
    assert len(rows) == 20 and "format alpaca, auto-detected" in summary.sources[0]
    user = rows[1]["messages"][0]["content"]
    assert "Translate to French: dog" in user and "context 1" in user  # input kept
    rows, _ = load(
        write(tmp_path, [{"q": "Hi?", "a": "Hello."}], "custom.jsonl"),
        "+data.columns={instruction: q, output: a}",
        "data.format=alpaca",
    )
    assert [m["content"] for m in rows[0]["messages"]] == ["Hi?", "Hello."]


def test_metadata_fields_do_not_block_detection(tmp_path):
    rows = [{"id": i, "category": "qa", "instruction": "Say hi.", "context": "", "response": "Hi."} for i in range(5)]
    got, summary = load(write(tmp_path, rows))
    assert len(got) == 5 and "format dolly" in summary.sources[0]
