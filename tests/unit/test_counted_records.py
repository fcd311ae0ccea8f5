"""Every record read is kept, skipped (counted by reason) or an error with its line: long first lines, documents
concatenated in one .json, text after the array, a broken first JSON Lines line, data.mix weights, and a bad
byte reported where it is."""
import json

import pytest

from tune import compose
from tune.data.dataset import load_conversations, sources_of
from tune.data.reading import read_records
from tune.errors import ConfigError, DataError

REC = {"instruction": "Say hi.", "output": "Hi."}


def records(path):
    return list(read_records(str(path)))


def test_a_first_line_longer_than_any_buffer_is_still_json_lines(tmp_path):
    path = tmp_path / "long.json"
    lines = [json.dumps({"instruction": "x" * 10_000, "output": "y"})] + [json.dumps(REC)] * 3
    path.write_text("\n".join(lines) + "\n")
    got = records(path)
    assert len(got) == 4 and [r.line for r in got] == [1, 2, 3, 4]


@pytest.mark.parametrize("text,needle,line", [
    ('[{"a": 1}]\n[{"b": 2}]\n', "after the closing ']'", 2),
    ('[{"a": 1}]\ntrailing words\n', "after the closing ']'", 2),
    ('{"a": 1,\n "b": 2}\n{"c": 3,\n "d": 4}\n', "more JSON after the first object", 3),
    ('{"a": 1}{"b": 2}\n', "more JSON after the first object", 1),
])
def test_concatenated_documents_are_an_error_with_their_line(tmp_path, text, needle, line):
    path = tmp_path / "d.json"
    path.write_text(text)
    with pytest.raises(DataError, match=needle) as err:
        records(path)
    assert err.value.line == line


def test_a_broken_first_json_lines_line_is_that_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"instruction": "broken\n' + "\n".join([json.dumps(REC)] * 3) + "\n")
    got = records(path)
    assert got[0].line == 1 and got[0].error and [r.line for r in got[1:]] == [2, 3, 4]
    cfg = compose(None, [f"data.path={path}", "data.format=alpaca"]).data
    rows, summary = load_conversations(sources_of(cfg)[0], on_error="skip")
    assert len(rows) == 3 and summary.records_read == 4 and sum(summary.skipped.values()) == 1


def test_a_bad_byte_is_reported_where_it_is(tmp_path):
    path = tmp_path / "d.jsonl"
    good = (json.dumps(REC) + "\n").encode()
    n = 10_000 // len(good) + 1
    path.write_bytes(good * n + b'{"instruction": "\xff", "output": "x"}\n')
    with pytest.raises(DataError) as err:
        records(path)
    assert f"at byte {len(good) * n + 17}" in str(err.value) and err.value.line == n + 1


def test_mix_weights_are_counted_and_checked(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps({"instruction": f"q{i}", "output": "a"}) for i in range(10)) + "\n")
    cfg = compose(None, [f"+data.mix=[{{path: {path}, format: alpaca, weight: 0.3}}]"]).data
    rows, summary = load_conversations(sources_of(cfg)[0])
    assert len(rows) == 3 and summary.records_read == 10
    assert summary.skipped == {"sampled out by data.mix weight 0.3": 7}
    cfg = compose(None, [f"+data.mix=[{{path: {path}, format: alpaca, weight: 2.5}}]"]).data
    rows, summary = load_conversations(sources_of(cfg)[0])
    assert len(rows) == 25 and summary.repeated == 15 and "repeated 15" in summary.lines()[-1]
    for bad, needle in (
        ("weight: -1", "give a number above 0"),
        ("weight: 0", "above 0"),
        ("weight: many", "not a number"),
    ):
        with pytest.raises(ConfigError, match=needle):
            sources_of(compose(None, [f"+data.mix=[{{path: {path}, {bad}}}]"]).data)
    with pytest.raises(ConfigError, match=r"data.mix\[0\]: needs a path"):
        sources_of(compose(None, ["+data.mix=[{format: alpaca}]"]).data)


def test_files_tune_cannot_read_are_one_line_naming_the_file(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    broken_gz = tmp_path / "d.jsonl.gz"
    broken_gz.write_bytes(b"garbage")
    ok = tmp_path / "ok.jsonl"
    ok.write_text(json.dumps(REC) + "\n")
    for overrides, needle in (
        ([f"data.path={empty}"], "holds no records"),
        ([f"data.path={broken_gz}"], "not a complete gzip file"),
        ([f"data.path={ok}", "data.encoding=nope-enc"], "unknown text encoding"),
    ):
        with pytest.raises(DataError, match=needle) as err:
            load_conversations(sources_of(compose(None, overrides).data)[0])
        assert str(err.value).count("\n") == 0
