"""No input escapes as a library error: every path from a user's file ends in a row, a counted skip, or tune's own
one-line error naming the file (and the line, where the fault is in one record). Examples first, then a property
test over arbitrary bytes, nesting, encodings and JSON shapes."""
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import prepared_outcome, run_tune, same_outcome, write_jsonl
from tune.data.dataset import Source, load_conversations
from tune.errors import ConfigError, DataError
from tune.infer.batch import read_prompts

GOOD = {"instruction": "Say hi.", "output": "Hi."}
DEEP = "[" * 100_000 + "]" * 100_000


def load(path, on_error="skip", fmt="alpaca"):
    return load_conversations(Source(str(path), fmt, 1.0, "utf-8", {}), on_error)


@pytest.mark.parametrize("bad,reason", [
    ('{"instruction": %s, "output": "x"}' % DEEP, "nested too deeply"),
    (DEEP, "nested too deeply"),
    ('{"instruction": "a\\ud800b", "output": "x"}', "lone UTF-16 surrogate"),
])
def test_a_bad_record_is_a_counted_skip_or_one_line(tmp_path, bad, reason):
    path = write_jsonl(tmp_path / "d.jsonl", [GOOD, bad, GOOD])
    rows, summary = load(path)
    assert len(rows) == 2 and summary.records_read == 3
    assert sum(summary.skipped.values()) == 1 and reason in next(iter(summary.skipped))
    with pytest.raises(DataError, match=reason) as err:
        load(path, "raise")
    assert err.value.source == str(path) and err.value.line == 2


@pytest.mark.parametrize("field", ["tools as text", "tools", "tool_calls"])
def test_deep_tool_json_is_a_counted_skip_at_any_depth(tmp_path, field):
    """Tool definitions are parsed from text and every tool value is written back as JSON: at depths around
    Python's recursion limit each record is a row or a counted skip naming its field, never a RecursionError."""
    def line(depth):
        deep = "[" * depth + "]" * depth
        msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]
        if field == "tool_calls":
            msgs[1] = {"role": "assistant", "content": "", "tool_calls": "DEEP"}
        rec = {"messages": msgs, "tools": deep if field == "tools as text" else "DEEP"}
        return json.dumps(rec).replace('"DEEP"', deep)

    depths = range(600, 3001, 7)
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(line(d) for d in depths) + "\n")
    rows, summary = load(path, fmt="openai")
    assert summary.records_read == len(depths) == len(rows) + sum(summary.skipped.values())
    assert rows and summary.skipped, summary.skipped
    assert all("nested too deeply" in reason for reason in summary.skipped), summary.skipped
    if field == "tools as text":  # the line itself is shallow: the fault is in the field
        assert all(reason.startswith("tools:") for reason in summary.skipped), summary.skipped


def test_a_deep_record_in_a_json_array_names_its_line(tmp_path):
    path = tmp_path / "d.json"
    path.write_text("[\n" + json.dumps(GOOD) + ",\n" + DEEP + "\n]\n")
    with pytest.raises(DataError, match="nested too deeply") as err:
        load(path)
    assert err.value.line == 3


def test_a_long_csv_field_is_data(tmp_path):
    path = tmp_path / "long.csv"
    long = "很长的病历。" * 40_000  # 240,000 characters: a long medical dialogue
    path.write_text(f'instruction,output\n"{long}",ok\n', encoding="utf-8")
    rows, summary = load(path, "raise")
    assert len(rows) == 1 and rows[0]["messages"][0]["content"] == long


@pytest.mark.parametrize("content,extra", [
    ("", ["data.format=alpaca"]),
    ("[]", ["data.format=alpaca"]),
    ('{"instruction": "", "output": ""}\n{"foo": 1}\n', ["data.format=alpaca", "data.on_error=skip"]),
])
def test_no_usable_example_is_one_line_after_the_summary(tmp_path, content, extra):
    path = tmp_path / "d.json"
    path.write_text(content)
    r = run_tune("preview", f"data.path={path}", *extra)
    assert r.returncode == 2, r.stderr[-2000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("tune: data: no usable example left"), r.stderr[-2000:]
    if content:
        assert "records read" in r.stderr


def test_no_usable_example_when_streaming(tmp_path):
    from tune import compose
    from tune.data.prepare import prepare
    from tune.data.templates import get_template
    from tune.models.load import load_tokenizer

    path = write_jsonl(tmp_path / "d.jsonl", [{"instruction": "", "output": ""}, {"foo": 1}])
    cfg = compose(None, [f"data.path={path}", "data.format=alpaca", "data.on_error=skip", "data.streaming=true",
                         "trainer.max_steps=2"])
    tok = load_tokenizer(cfg.model)
    lines = []
    with pytest.raises(ConfigError, match="no usable example left"):
        prepare(cfg.data, tok, get_template("alpaca", tok), max_steps=2, log=lines.append)
    assert any("records read 2" in line for line in lines)


def test_a_model_folder_without_tokenizer_or_weights_names_what_is_missing(tiny_dir, tmp_path):
    from tune.models.load import load_causal_lm, load_tokenizer_from

    folder = tmp_path / "only-config"
    folder.mkdir()
    (folder / "config.json").write_text(open(os.path.join(tiny_dir, "config.json")).read())
    with pytest.raises(ConfigError, match="no tokenizer files") as err:
        load_tokenizer_from(str(folder))
    assert "tokenizer.json" in str(err.value)
    with pytest.raises(ConfigError, match="no weights"):
        load_causal_lm(str(folder))


@pytest.mark.parametrize("line,field,reason", [
    ('{"messages": [{"role": "user", "content": "hi"}', None, "invalid JSON"),
    ('{"messages": [{"role": "wizard", "content": "hi"}]}', "messages[0].role", "unknown role"),
    ('{"messages": ["hi"]}', "messages[0]", "must be an object"),
    ('{"messages": [{"role": "user", "content": 3}]}', "messages[0].content", "must be a string"),
    ('["a", "b"]', None, "must be a JSON object"),
    ('{"prompt": "a\\udc80"}', "messages[0].content", "lone UTF-16 surrogate"),
])
def test_generate_inputs_are_checked_like_training_data(tmp_path, line, field, reason):
    path = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "fine"}, line, {"prompt": "also fine"}])
    with pytest.raises(DataError, match=reason) as err:
        read_prompts([str(path)], "raise", Counter())
    assert err.value.line == 2 and err.value.field == field and err.value.source == str(path)
    skipped = Counter()
    assert len(read_prompts([str(path)], "skip", skipped)) == 2 and sum(skipped.values()) == 1


def test_generate_skips_bad_rows_and_says_how_many(tiny_dir, tmp_path):
    from tune import compose, train

    run = tmp_path / "run"
    train(compose("demo", ["trainer.max_steps=1", f"trainer.output_dir={run}", "trainer.report_to=[]"]))
    path = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "What colour is snow?"}, {"messages": ["hi"]}])
    out = tmp_path / "out.jsonl"
    r = run_tune("generate", f"checkpoint={run}", f"input={path}", f"out={out}", "max_new_tokens=4")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith(f"tune: {path}:2: messages[0]:")
    r = run_tune("generate", f"checkpoint={run}", f"input={path}", f"out={out}", "max_new_tokens=4",
                 "generate.on_error=skip")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "skipped 1 rows" in r.stderr and len(out.read_text().splitlines()) == 1


# -- property: arbitrary files --------------------------------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        k: JSON
        for k in ("instruction", "input", "output", "prompt", "messages", "conversations", "role", "content", "system",
                  "tools")
    },
)
FILES = st.one_of(
    st.binary(max_size=300),
    st.lists(FIELDS | JSON, max_size=5).map(lambda rows: "\n".join(json.dumps(r) for r in rows).encode()),
    st.lists(FIELDS, max_size=5).map(lambda rows: json.dumps(rows).encode()),
    st.integers(1, 3000).map(lambda n: ("[" * n + "]" * n).encode()),
    st.text(max_size=200).map(lambda t: t.encode("utf-16")),
    st.lists(st.text(max_size=20), max_size=6).map(lambda cells: ("a,b\n" + ",".join(cells)).encode()),
)


def outcome(fn):
    """A result, or tune's own error naming the file; anything else fails the property."""
    try:
        return fn()
    except (DataError, ConfigError) as err:
        assert err.source if isinstance(err, DataError) else str(err), err
        return err


CASES = dict(  # a file's bytes, its suffix, the format asked for and the error policy
    data=FILES,
    suffix=st.sampled_from([".jsonl", ".json", ".csv"]),
    fmt=st.sampled_from(["auto", "alpaca", "openai", "sharegpt"]),
    on_error=st.sampled_from(["raise", "skip"]),
)


@settings(
    max_examples=int(os.environ.get("TUNE_PROPERTY_EXAMPLES", 150)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(**CASES)
def test_readers_and_prompt_parser_never_raise_a_library_error(tmp_path, data, suffix, fmt, on_error):
    path = tmp_path / f"f{suffix}"
    path.write_bytes(data)
    result = outcome(lambda: load(path, on_error, fmt))
    if not isinstance(result, Exception):
        rows, summary = result
        assert summary.records_read == len(rows) + sum(summary.skipped.values())
        for row in rows:  # what is kept can be written back as UTF-8 (Arrow, the tokenizer, output files)
            json.dumps(row, ensure_ascii=False).encode("utf-8")
    outcome(lambda: read_prompts([str(path)], on_error, Counter()))


@settings(
    max_examples=int(os.environ.get("TUNE_PROPERTY_EXAMPLES", 150)) // 3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(**CASES)
def test_the_same_cases_end_the_same_from_a_warm_cache(tmp_path, tokenizer, data, suffix, fmt, on_error):
    """Each arbitrary file prepared twice in a fresh cache folder (cold, then warm): the same error or the same
    summary and rows (data/cache.py writes no entry without an example)."""
    path = tmp_path / f"f{suffix}"
    path.write_bytes(data)
    cache_dir = tempfile.mkdtemp(dir=tmp_path)
    args = [f"data.path={path}", f"data.format={fmt}", f"data.on_error={on_error}", "template=alpaca"]
    cold = prepared_outcome(args, tokenizer, cache_dir)
    warm = prepared_outcome(args, tokenizer, cache_dir)
    assert same_outcome(cold, warm), (cold, warm)
    assert warm["hit"] == (cold["error"] is None)


@pytest.mark.slow
def test_readers_property_long_run(tmp_path):
    env = dict(os.environ, TUNE_PROPERTY_EXAMPLES="3000")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"{__file__}::test_readers_and_prompt_parser_never_raise_a_library_error",
            f"{__file__}::test_the_same_cases_end_the_same_from_a_warm_cache",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert r.returncode == 0, r.stdout[-3000:]
