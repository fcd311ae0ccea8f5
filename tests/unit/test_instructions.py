import pytest

from tune.data.instructions import apply_instruction_mode
from tune.errors import ConfigError


def rows():
    return [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}],
             "source": "f.json", "line": i} for i in range(40)]


def test_fixed_wraps_at_input_marker():
    r = rows()
    apply_instruction_mode(r, "fixed", "扮演医生。\n\n病人：{input}", [])
    assert r[3]["messages"][0]["content"] == "扮演医生。\n\n病人：q3"


def test_per_sample_is_seeded_and_uses_every_instruction():
    a, b = rows(), rows()
    pool = ["A", "B", "C {input} D"]
    apply_instruction_mode(a, "per_sample", "", pool)
    apply_instruction_mode(b, "per_sample", "", pool)
    assert a == b
    firsts = {row["messages"][0]["content"].split("\n")[0].split(" ")[0] for row in a}
    assert firsts == {"A", "B", "C"}
    assert any(row["messages"][0]["content"] == f"C q{row['line']} D" for row in a)


def test_none_leaves_rows_and_bad_modes_fail():
    r = rows()
    apply_instruction_mode(r, "none", "", [])
    assert r == rows()
    with pytest.raises(ConfigError):
        apply_instruction_mode(r, "fixed", "", [])
    with pytest.raises(ConfigError):
        apply_instruction_mode(r, "sometimes", "x", [])
