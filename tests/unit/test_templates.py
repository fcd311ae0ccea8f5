"""Templates as their models' own code has them: FastChat's get_prompt() where FastChat has the format, one
registry, and the control tokens each template needs added to a tokenizer that lacks them."""
from __future__ import annotations

import pytest

from tune.config import group_options
from tune.data.conversation import Conversation, Message
from tune.data.templates import TEMPLATES, get_template, template_names

QUESTIONS = [("What is 2+2?", "4."), ("And 3+3?", "6, of course."), ("Thanks!", "You're welcome.")]
# our template -> FastChat's conversation name; FastChat's strings carry no bos (its tokenizer adds it), and
# ChatGLM's "[gMASK]sop" prefix is what ChatGLM's tokenizer adds: both are set aside.
FASTCHAT = {"vicuna_v1.1": "vicuna_v1.1", "llama2": "llama-2", "chatglm2": "chatglm2", "chatglm3": "chatglm3"}


def _strip_bos(text: str, name: str) -> str:
    text = text.replace("<s>", "")
    return text.removeprefix("[gMASK]sop") if name.startswith("chatglm") else text


@pytest.mark.parametrize("name", sorted(FASTCHAT))
@pytest.mark.parametrize("system", ["", "Answer briefly."])
def test_generation_prompts_equal_fastchat(name, system):
    conversation = pytest.importorskip("fastchat.conversation")
    renderer = get_template(name)  # bos "<s>", eos "</s>": FastChat's own spellings
    for rounds in range(1, len(QUESTIONS) + 1):
        conv = conversation.get_conv_template(FASTCHAT[name])
        if system:
            conv.set_system_message(system)
        ours = Conversation(system=system)
        for i, (q, a) in enumerate(QUESTIONS[:rounds]):
            last = i == rounds - 1
            conv.append_message(conv.roles[0], q)
            conv.append_message(conv.roles[1], None if last else a)
            ours.messages += [Message("user", q)] + ([] if last else [Message("assistant", a)])
        theirs = conv.get_prompt()
        assert _strip_bos(renderer.render_text(ours, add_generation_prompt=True), name) == _strip_bos(theirs, name)


def test_llama3_renders_metas_format():
    conv = Conversation([Message("user", "Hi"), Message("assistant", "Hello!")], system="Be brief.")
    assert get_template("llama3").render_text(conv) == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>")


def test_chatglm_multi_turn_has_no_eos_between_turns():
    conv = Conversation(
        [Message("user", "a"), Message("assistant", "b"), Message("user", "c"), Message("assistant", "d")]
    )
    assert (
        get_template("chatglm2").render_text(conv)
        == "[gMASK]sop[Round 1]\n\n问：a\n\n答：b\n\n[Round 2]\n\n问：c\n\n答：d</s>"
    )
    assert (
        get_template("chatglm3").render_text(conv)
        == "[gMASK]sop<|user|>\na<|assistant|>\nb<|user|>\nc<|assistant|>\nd</s>"
    )


@pytest.mark.parametrize(
    "name,want",
    [
        ("firefly", "<s>Be kind.</s>q</s>a</s>"),
        ("belle", "<s>Be kind.\n\nHuman: q\n\nAssistant: a</s>"),
        ("chatglm2", "[gMASK]sopBe kind.\n\n[Round 1]\n\n问：q\n\n答：a</s>"),
        ("baize", "<s>Be kind.\n[|Human|]q\n[|AI|]a</s>"),
    ],
)
def test_system_text_has_its_separator(name, want):
    conv = Conversation([Message("user", "q"), Message("assistant", "a")], system="Be kind.")
    assert get_template(name).render_text(conv) == want


def test_one_registry():
    assert group_options("template") == sorted(template_names())


@pytest.mark.parametrize(
    "tok_name,template,want",
    [
        ("llama-spm", "chatml", ["<|im_start|>", "<|im_end|>"]),
        ("llama-spm", "llama3", ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]),
        ("qwen2", "llama3", ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]),
        ("qwen2", "chatml", []),
        ("llama-bpe", "llama3", []),
    ],
)
def test_missing_control_tokens_are_added_as_single_tokens(real_tokenizer_dirs, tok_name, template, want):
    from transformers import AutoTokenizer

    from tune.models.vocab import add_control_tokens

    tok = AutoTokenizer.from_pretrained(real_tokenizer_dirs[tok_name])
    added = add_control_tokens(tok, TEMPLATES[template].control_tokens, template)
    assert added == want
    for t in TEMPLATES[template].control_tokens:
        assert len(tok(t, add_special_tokens=False)["input_ids"]) == 1
        assert len(tok("x" + t + "y", add_special_tokens=False)["input_ids"]) >= 3  # matched whole inside text


def test_refuses_to_add_when_told_not_to(real_tokenizer_dirs):
    from transformers import AutoTokenizer

    from tune.errors import ConfigError
    from tune.models.vocab import add_control_tokens

    tok = AutoTokenizer.from_pretrained(real_tokenizer_dirs["llama-spm"])
    with pytest.raises(ConfigError, match="template.add_missing_tokens=true"):
        add_control_tokens(tok, TEMPLATES["chatml"].control_tokens, "chatml", allowed=False)


def test_sop_marker_does_not_match_inside_words(real_tokenizer_dirs):
    from transformers import AutoTokenizer

    from tune.models.vocab import add_control_tokens

    tok = AutoTokenizer.from_pretrained(real_tokenizer_dirs["llama-bpe"])
    add_control_tokens(tok, TEMPLATES["chatglm2"].control_tokens, "chatglm2")
    sop = tok.convert_tokens_to_ids("sop")
    assert sop in tok("[gMASK]sop[Round 1]", add_special_tokens=False)["input_ids"]
    assert sop not in tok("philosophy", add_special_tokens=False)["input_ids"]
