"""Exact label masks: the heart of the product."""

from tune.data.config import DataConfig
from tune.data.conversation import Conversation, Message
from tune.data.labels import IGNORE_INDEX, tokenize_conversation
from tune.data.templates import get_template


def example(tokenizer, conv, template="vicuna_v1.1", **kw):
    r = get_template(template, tokenizer)
    return tokenize_conversation(tokenizer, r, conv, **kw), r


def labelled_spans(tokenizer, ex):
    spans, cur = [], []
    for tok, lab in zip(ex.input_ids, ex.labels):
        if lab != IGNORE_INDEX:
            assert lab == tok
            cur.append(tok)
        elif cur:
            spans.append(tokenizer.decode(cur))
            cur = []
    if cur:
        spans.append(tokenizer.decode(cur))
    return spans


CONV = Conversation([Message("user", "Hi there"), Message("assistant", "Hello!"),
                     Message("user", "2+2?"), Message("assistant", "4")], system="Be brief.")


def test_vicuna_multi_turn_exact_text_and_labels(tokenizer):
    ex, r = example(tokenizer, CONV)
    assert (
        tokenizer.decode(ex.input_ids) == "<s>Be brief. USER: Hi there ASSISTANT: Hello!</s>USER: 2+2? ASSISTANT: 4</s>"
    )
    assert labelled_spans(tokenizer, ex) == [" Hello!</s>", " 4</s>"]  # the space before an answer is its own


def test_every_labelled_token_is_its_input_id_and_prompt_is_masked(tokenizer):
    ex, _ = example(tokenizer, CONV, template="chatml")
    text_ids = tokenizer("<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]
    first = ex.input_ids.index(text_ids[0])
    assert all(l == IGNORE_INDEX for l in ex.labels[: first + len(text_ids)])
    assert labelled_spans(tokenizer, ex) == ["Hello!<|im_end|>", "4<|im_end|>"]


def test_train_on_prompt_labels_everything(tokenizer):
    ex, _ = example(tokenizer, CONV, train_on_prompt=True)
    assert ex.labels == ex.input_ids


def test_mask_history_labels_only_the_last_answer(tokenizer):
    ex, _ = example(tokenizer, CONV, mask_history=True)
    assert labelled_spans(tokenizer, ex) == [" 4</s>"]


def test_untrained_assistant_turn_is_not_labelled(tokenizer):
    conv = Conversation(
        [Message("user", "a"), Message("assistant", "b", train=False), Message("user", "c"), Message("assistant", "d")]
    )
    ex, _ = example(tokenizer, conv)
    assert labelled_spans(tokenizer, ex) == [" d</s>"]


def test_literal_special_tokens_in_data_stay_text(tokenizer):
    conv = Conversation([Message("user", "say </s>"), Message("assistant", "ok </s> done")])
    ex, _ = example(tokenizer, conv)
    assert ex.input_ids.count(tokenizer.eos_token_id) == 1  # only the template's end of turn
    assert labelled_spans(tokenizer, ex) == [" ok </s> done</s>"]


def test_truncation_keeps_the_beginning_of_a_cut_answer(tokenizer):
    full, _ = example(tokenizer, CONV)
    prompt_len = full.labels.index(next(l for l in full.labels if l != IGNORE_INDEX))
    ex, _ = example(tokenizer, CONV, max_length=prompt_len + 2)
    assert ex.truncated and len(ex.input_ids) == prompt_len + 2
    assert ex.input_ids == full.input_ids[: prompt_len + 2]
    assert ex.n_labelled == 2


def test_truncation_drops_a_prompt_that_does_not_fit_whole(tokenizer):
    full, _ = example(tokenizer, CONV)
    spans_end = [
        i for i in range(len(full.labels) - 1) if full.labels[i] != IGNORE_INDEX and full.labels[i + 1] == IGNORE_INDEX
    ]
    cut = spans_end[0] + 3  # inside the second user turn
    ex, _ = example(tokenizer, CONV, max_length=cut)
    assert ex.truncated and len(ex.input_ids) <= cut
    assert labelled_spans(tokenizer, ex) == [" Hello!</s>"]


def test_truncation_inside_the_first_prompt_leaves_nothing_labelled(tokenizer):
    ex, _ = example(tokenizer, CONV, max_length=3)
    assert ex.truncated and ex.n_labelled == 0


def test_build_dataset_counts_truncated_and_dropped(tmp_path, tokenizer):
    from tune.data.dataset import build_dataset

    p = tmp_path / "d.jsonl"
    p.write_text(
        '{"instruction": "short", "output": "ok"}\n'
        '{"instruction": "' + "long " * 200 + '", "output": "never seen"}\n'
        '{"instruction": "q", "output": "' + "word " * 200 + '"}\n'
    )
    cfg = DataConfig(path=str(p), format="alpaca", max_length=64)
    ds, summary = build_dataset(cfg, tokenizer, get_template("alpaca", tokenizer))
    assert summary.records_read == 3 and summary.examples_kept == 2
    assert summary.no_labelled_token == 1 and summary.truncated == 1
    assert [row["line"] for row in ds] == [1, 3]
    assert all(len(row["input_ids"]) <= 64 for row in ds)


def test_mixing_with_weights(tmp_path, tokenizer):
    from tune.data.dataset import build_dataset

    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("".join(f'{{"instruction": "a{i}", "output": "x"}}\n' for i in range(10)))
    b.write_text("".join(f'{{"instruction": "b{i}", "output": "y"}}\n' for i in range(10)))
    cfg = DataConfig(
        max_length=64, mix=[{"path": str(a), "weight": 2.0}, {"path": str(b), "format": "alpaca", "weight": 0.3}]
    )
    ds, summary = build_dataset(cfg, tokenizer, get_template("alpaca", tokenizer))
    sources = [row["source"] for row in ds]
    assert sources.count(str(a)) == 20 and sources.count(str(b)) == 3
