import gzip
import json

import pytest

from tests.conftest import shared
from tune.data.reading import expand_paths, read_records
from tune.errors import DataError


def lines_and_records(path, encoding="utf-8"):
    return [(r.line, r.record, r.error) for r in read_records(str(path), encoding)]


def test_json_array_records_carry_their_start_line(tmp_path):
    p = tmp_path / "a.json"
    p.write_text('[\n  {"a": 1},\n  {\n    "a": 2\n  }\n]\n')
    assert [(line, rec) for line, rec, _ in lines_and_records(p)] == [(2, {"a": 1}), (3, {"a": 2})]


def test_long_one_line_files_keep_their_layout_and_lines(tmp_path):
    """Files whose first line is megabytes long (json.dump without indent writes a whole ShareGPT dump on one line)
    are read by the layout they have, with the lines records start on."""
    big = "x" * (3 << 20)
    one_line = tmp_path / "one_line.json"
    one_line.write_text(json.dumps([{"a": big}, {"a": 2}, {"a": 3}]))
    assert [(line, rec["a"] if rec["a"] != big else "big") for line, rec, _ in lines_and_records(one_line)] == [
        (1, "big"), (1, 2), (1, 3)]
    jsonl = tmp_path / "long_first.json"  # blank lines, then JSON Lines whose first line is longer than any read
    jsonl.write_text("\n\n" + json.dumps({"a": big}) + "\n" + json.dumps({"a": 2}) + "\n")
    assert [line for line, _, _ in lines_and_records(jsonl)] == [3, 4]
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps([{"a": i} for i in range(50)], indent=1))
    assert [line for line, _, _ in lines_and_records(pretty)] == [2 + 3 * i for i in range(50)]


def test_single_object_file(tmp_path):
    p = tmp_path / "one.json"
    p.write_text('{"instruction": "x",\n "output": "y"}')
    assert lines_and_records(p) == [(1, {"instruction": "x", "output": "y"}, None)]


def test_jsonl_named_json_with_bom_and_blank_lines(tmp_path):
    p = tmp_path / "x.json"
    p.write_bytes("\ufeff".encode() + b'{"a": 1}\n\n{"a": "\xe4\xb8\xad"}\n')
    assert lines_and_records(p) == [(1, {"a": 1}, None), (3, {"a": "中"}, None)]


def test_broken_jsonl_line_is_reported_with_its_line(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"a": 1}\n{"a": \n{"a": 3}\n')
    rows = lines_and_records(p)
    assert [r[0] for r in rows] == [1, 2, 3]
    assert rows[1][2].startswith("invalid JSON")


def test_broken_json_array_raises_with_line(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('[\n{"a": 1},\n{"a": }\n]')
    with pytest.raises(DataError, match=r"x.json:3: invalid JSON"):
        lines_and_records(p)


def test_gzip_and_folder_and_glob(tmp_path):
    (tmp_path / "d").mkdir()
    with gzip.open(tmp_path / "d" / "b.jsonl.gz", "wt") as f:
        f.write(json.dumps({"a": 2}) + "\n")
    (tmp_path / "d" / "a.json").write_text('[{"a": 1}]')
    (tmp_path / "d" / "notes.txt").write_text("ignored")
    files = expand_paths(str(tmp_path / "d"))
    assert [f.rsplit("/", 1)[1] for f in files] == ["a.json", "b.jsonl.gz"]
    assert expand_paths(str(tmp_path / "d" / "*.gz")) == [files[1]]
    assert lines_and_records(files[1]) == [(1, {"a": 2}, None)]


def test_missing_path_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        expand_paths(str(tmp_path / "nope.json"))


def test_csv_tsv_start_lines_with_quoted_newlines(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text('instruction,output\n"multi\nline",a\nq,b\n')
    assert [(line, rec["output"]) for line, rec, _ in lines_and_records(p)] == [(2, "a"), (4, "b")]
    t = tmp_path / "x.tsv"
    t.write_text("instruction\toutput\nq\tb\n")
    assert lines_and_records(t)[0][1] == {"instruction": "q", "output": "b"}


def test_real_gb18030_csv_needs_its_encoding():
    path = shared("medical_dialogue/internal_medicine_sample.csv")
    with pytest.raises(DataError, match="data.encoding"):
        lines_and_records(path)
    rows = lines_and_records(path, "gb18030")
    assert len(rows) == 1500
    assert set(rows[0][1]) == {"department", "title", "ask", "answer"}
    multiline = [r for r in rows if "\n" in r[1]["answer"] + r[1]["ask"] + r[1]["title"]]
    assert len(multiline) == 7
    # start lines grow by the newlines inside quoted fields
    assert rows[-1][0] == 1501 + sum(v.count("\n") for _, rec, _ in rows for v in rec.values())


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_a_deep_record_runs_no_finalizer_near_the_recursion_limit(tmp_path, suffix):
    """Inside a deeply nested value the JSON decoder sits near Python's recursion limit, and cyclic GC may run at
    any allocation there: an unrelated object's finalizer (an abandoned generator's, a temporary file's) then fails
    with RecursionError, printed as "Exception ignored" with its cleanup lost. Garbage with a finalizer made
    between records, at gc thresholds that land its collection at every depth: no finalizer may fail."""
    import gc
    import sys

    def depth(n):
        return 0 if n == 0 else depth(n - 1)

    class Cycle:
        def __del__(self):
            depth(300)

    deep = "[" * 3000 + "]" * 3000
    path = tmp_path / f"d{suffix}"
    path.write_text("\n".join([deep] * 40) if suffix == ".jsonl" else "[\n" + ",\n".join([deep] * 40) + "\n]")
    failed, hook, threshold = [], sys.unraisablehook, gc.get_threshold()
    sys.unraisablehook = lambda u: failed.append(u.exc_type)
    try:
        for gen0 in range(50, 1000, 50):
            gc.set_threshold(gen0)
            records = read_records(str(path))
            for _ in range(40):
                c = Cycle()
                c.me = c
                del c
                try:
                    next(records)
                except (DataError, StopIteration):
                    break
    finally:
        gc.set_threshold(*threshold)
        sys.unraisablehook = hook
    assert failed == []
