"""A cache hit ends exactly as the miss did, for every outcome the data layer can have, none included: the same
error line and exit status, the same printed summary, the same rows. Each case runs twice in a fresh cache
folder (a miss, then a hit where an entry was written); an entry that would hold no example is never written."""
import os

import pytest

from tests.helpers import CACHE_LINE, jsonl_text, prepared_outcome, run_tune, same_outcome

GOOD = [{"instruction": "Name a colour.", "output": "Blue."}, {"instruction": "Add 2 and 3.", "output": "5"},
        {"instruction": "What colour is snow?", "output": "Snow is white."},
        {"instruction": "Say hi.", "output": "Hi."}]
LONG = {"instruction": "Sing.", "output": "la " * 60}
INVALID = ['{"instruction": "", "output": ""}', '{"foo": 1}', '{broken']
INVALID_ALPACA = [
    '{"instruction": "", "output": ""}',
    '{"instruction": "Hi.", "output": ""}',
    "{broken",
]  # auto reads alpaca


CASES = {  # name: (file name, content, overrides)
    "empty file": ("d.json", "", ["data.format=alpaca"]),
    "empty array": ("d.json", "[]", ["data.format=alpaca"]),
    "every record invalid, skip": ("d.jsonl", jsonl_text(INVALID), ["data.format=alpaca", "data.on_error=skip"]),
    "every record invalid, raise": ("d.jsonl", jsonl_text(INVALID), ["data.format=alpaca"]),
    "normal": ("d.jsonl", jsonl_text(GOOD), ["data.format=alpaca", "data.val_size=1"]),
    "skips, truncations, auto-detected, packed": (
        "d.jsonl",
        jsonl_text([*GOOD, *INVALID_ALPACA, LONG]),
        ["data.on_error=skip", "data.max_length=48", "data.packing=true", "data.group_by_length=false"],
    ),
    "streaming": (
        "d.jsonl",
        jsonl_text([*GOOD, *INVALID[:2]]),
        ["data.format=alpaca", "data.on_error=skip", "data.streaming=true"],
    ),
    "streaming, nothing usable": (
        "d.jsonl",
        jsonl_text(INVALID[:2]),
        ["data.format=alpaca", "data.on_error=skip", "data.streaming=true"],
    ),
}
NO_EXAMPLE = {
    "empty file",
    "empty array",
    "every record invalid, skip",
    "every record invalid, raise",
    "streaming, nothing usable",
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hit_ends_as_the_miss_did(case, tokenizer, tmp_path):
    name, content, overrides = CASES[case]
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    cache_dir = tmp_path / "cache"
    args = [f"data.path={path}", "template=alpaca", *overrides]
    miss = prepared_outcome(args, tokenizer, str(cache_dir))
    hit = prepared_outcome(args, tokenizer, str(cache_dir))
    assert same_outcome(miss, hit), (miss, hit)
    assert (miss["error"] is not None) == (case in NO_EXAMPLE), miss
    written = [e for e in os.listdir(cache_dir)] if cache_dir.exists() else []
    if case in NO_EXAMPLE or "streaming" in case:
        assert written == [] and not hit["hit"]  # nothing to read back, and streaming never caches
    else:
        assert len(written) == 1 and hit["hit"] and not miss["hit"]
    if "truncations" in case:
        assert "examples kept 5, skipped 3" in " ".join(miss["lines"]) and "truncated 1" in " ".join(miss["lines"])


@pytest.mark.parametrize(
    "command,content,extra",
    [
        ("train", "[]", []),
        ("preview", jsonl_text(INVALID), ["data.on_error=skip"]),
    ],
)
def test_a_failed_command_fails_the_same_way_again(command, content, extra, tmp_path):
    path = tmp_path / "d.json"
    path.write_text(content)
    env = dict(os.environ, TUNE_DATASETS_CACHE=str(tmp_path / "cache"))
    args = [command, f"data.path={path}", "data.format=alpaca", *extra]
    if command == "train":
        args += [f"trainer.output_dir={tmp_path / 'run'}", "trainer.max_steps=1"]
    first, second = run_tune(*args, env=env), run_tune(*args, env=env)
    assert first.returncode == second.returncode == 2, second.stderr[-2000:]
    assert second.stderr.strip().splitlines()[-1].startswith("tune: data: no usable example left"), second.stderr
    tune_lines = [
        [l for l in r.stderr.splitlines() if l.startswith("tune") and CACHE_LINE not in l] for r in (first, second)
    ]
    assert tune_lines[0] == tune_lines[1]
