"""Tokenizers that mark every word start (sentencepiece Llama, Metaspace with prepend "always"): the ids are one
call on the rendered text (what a server gives, even where that adds a word-start marker after <s>), and each
labelled span is the answer with its lead, no spurious space at a segment boundary."""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tune.data.conversation import Conversation, Message
from tune.data.labels import IGNORE_INDEX, tokenize_conversation
from tune.data.templates import get_template


@pytest.fixture(scope="module")
def metaspace_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from tune.models.tiny import SPECIAL_TOKENS, corpus_texts

    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    trainer = trainers.BpeTrainer(vocab_size=2000, special_tokens=SPECIAL_TOKENS + ["<unk>"], show_progress=False)
    tok.train_from_iterator(corpus_texts(), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>")


TEXT = st.lists(st.sampled_from(["hello", " world", "the model", "模型", "\n", "answer 42", "x"]), min_size=1,
                max_size=5).map("".join).filter(lambda s: s.strip())


@settings(
    max_examples=int(__import__("os").environ.get("TUNE_HYPOTHESIS_EXAMPLES", 40)),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=3))
def test_one_call_ids_and_exact_spans(metaspace_tokenizer, pairs):
    tok = metaspace_tokenizer
    conv = Conversation([m for q, a in pairs for m in (Message("user", q), Message("assistant", a))])
    renderer = get_template("vicuna_v1.1", tok)
    ex = tokenize_conversation(tok, renderer, conv)
    text = renderer.render_text(conv)
    assert ex.exact and ex.input_ids == tok(text, add_special_tokens=False)["input_ids"]
    # sentencepiece-style decoders drop a leading space of whatever they decode, so read each labelled
    # span as the difference of two prefix decodes
    spans, start = [], None
    labels = ex.labels + [IGNORE_INDEX]
    for i, l in enumerate(labels):
        if l != IGNORE_INDEX and start is None:
            start = i
        elif l == IGNORE_INDEX and start is not None:
            whole, before = tok.decode(ex.input_ids[:i]), tok.decode(ex.input_ids[:start])
            spans.append(whole[len(before) :])
            start = None
    assert spans == [" " + a + "</s>" for _, a in pairs]
