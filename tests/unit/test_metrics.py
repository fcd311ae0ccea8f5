from tune.infer.metrics import generation_scores, tokens


def test_chinese_is_scored_by_character_english_by_word():
    assert tokens("你好 世界") == ["你", "好", "世", "界"]
    assert tokens("hello big world") == ["hello", "big", "world"]


def test_identical_and_disjoint_predictions():
    same = generation_scores(["头痛要多休息，按时吃药。"], ["头痛要多休息，按时吃药。"])
    assert all(abs(v - 100) < 1e-6 for v in same.values()), same
    none = generation_scores(["abc def"], ["xyz uvw"])
    assert none["rouge-1"] == 0 and none["bleu-4"] < 5
    empty = generation_scores([""], ["something"])
    assert empty["rouge-l"] == 0
