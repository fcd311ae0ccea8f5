"""For every template: random conversations (special-token strings, whitespace and placeholders in the data)
render so that each labelled span decodes to exactly that answer with its lead and end-of-turn text, nothing
else is labelled, and the ids decode to the rendered text."""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tune.data.conversation import Message, normalise
from tests.unit.test_token_exactness import expected_answers
from tune.data.labels import IGNORE_INDEX, tokenize_conversation
from tune.data.templates import get_template, template_names

PIECES = ["hello", " world", "  ", "\n", "\t", "Hi!", "你好", "世界", "，", "。", "数字 42", " ", "ok\n\n",
          "</s>", "<|im_end|>", "{eos}", "ASSISTANT:", "### Response:", "[INST]", "é", "🙂",
          "<|im_start|>", "[gMASK]", "sop", "<|user|>", "<s>", "{idx}", "{input}", "\r\n", "\u3000"]
text = st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join).filter(lambda s: s.strip())


@st.composite
def conversations(draw):
    n_turns = draw(st.integers(1, 6))
    messages = []
    for _ in range(n_turns):
        messages += [Message("user", draw(text)), Message("assistant", draw(text))]
    system = draw(st.one_of(st.just(""), text))
    return normalise(messages, system=system)


def spans(ids, labels):
    out, cur = [], []
    for tok, lab in zip(ids, labels):
        if lab != IGNORE_INDEX:
            cur.append(tok)
        elif cur:
            out.append(cur)
            cur = []
    return out + ([cur] if cur else [])


@pytest.mark.parametrize("name", template_names())
def test_labelled_spans_are_exactly_the_answers(name, tokenizer):
    renderer = get_template(name, tokenizer)

    @settings(
        max_examples=int(__import__("os").environ.get("TUNE_HYPOTHESIS_EXAMPLES", 40)),
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(conversations())
    def check(conv):
        ex = tokenize_conversation(tokenizer, renderer, conv)
        assert all(l == IGNORE_INDEX or l == t for t, l in zip(ex.input_ids, ex.labels))
        assert tokenizer.decode(ex.input_ids) == renderer.render_text(conv)
        got = [tokenizer.decode(s) for s in spans(ex.input_ids, ex.labels)]
        if name == "tokenizer":
            want = [m.content + renderer.end_of_turn for m in conv.messages if m.role == "assistant"]
        else:
            want = expected_answers(name, tokenizer, [m.to_dict() for m in conv.messages])
        assert got == want

    check()
