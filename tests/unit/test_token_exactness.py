"""Train/serve token exactness: for every template x {LLaMA-2 SPM, LLaMA-3 BPE, Qwen2 BPE, the tiny default} x
every format sample in ../shared/data, what tune trains on is what a served model sees.

a. the trained input_ids are the saved tokenizer's ``apply_chat_template(messages, tools=..., tokenize=True)``
   (control-token strings in user data kept as text: ``sanitize_control_tokens=True``), which is also one
   tokenizer call on the rendered text (``tune preview``'s "text") wherever the data holds no such strings.
   The one exception: where that one call itself merges text across a prompt/answer boundary (baize's
   "[|AI|]" before an answer starting "{" is "]{" to LLaMA-2), a and b contradict each other; b wins, the
   example is encoded piece by piece there and counted in the data summary (the history of later turns then
   differs from a one-call encoding of it, so b is checked up to that boundary). The test checks such a merge
   is really there, so the exception cannot hide a bug;
b. before each assistant turn k, the ids are exactly ``apply_chat_template(messages[:k], add_generation_prompt=True,
   tokenize=True)``: the prompt a server builds, bos from the template itself;
c. the labelled tokens decode to each answer with its lead and end-of-turn marker, nothing else.

The default run takes a few records per sample file; the full matrix is marked slow (CI runs it too).
"""
from __future__ import annotations

import json
import os

import pytest

from tests.conftest import REAL_TOKENIZERS, SHARED_DATA
from tune.data.config import DataConfig
from tune.data.labels import IGNORE_INDEX
from tune.data.templates import TEMPLATES, get_template, template_names, to_jinja
from tune.models.tiny import CHATML_JINJA
from tune.models.vocab import add_control_tokens

# file -> (format, encoding[, data.columns]); files with no conversation text (ids only, nested seeds) are not here
SAMPLES = {
    "alpaca/alpaca_en_demo.json": ("alpaca", "utf-8"),
    "alpaca/alpaca_zh_demo.json": ("alpaca", "utf-8"),
    "alpaca/identity.json": ("alpaca", "utf-8"),
    "alpaca/torchtune_alpaca_tiny.json": ("alpaca", "utf-8"),
    "alpaca/gpteacher_codegen_instruct.json": ("auto", "utf-8", {"output": "response"}),  # keeps input
    "alpaca/gpteacher_roleplay_instruct.json": ("auto", "utf-8", {"output": "response"}),  # keeps input
    "alpaca/gpteacher_toolformer_similarity_0.6.json": ("auto", "utf-8", {"output": "response"}),  # keeps input
    "huatuo/llama_data.json": ("huatuo", "utf-8"),
    "huatuo/huatuo_liver_cancer.json": ("alpaca", "utf-8"),
    "belle_eval/eval_set.json": ("qa", "utf-8"),
    "dolly/databricks-dolly-15k.first10.jsonl": ("dolly", "utf-8"),
    "firefly/dummy_data.jsonl": ("firefly", "utf-8"),
    "medical_dialogue/internal_medicine_sample.csv": ("qa", "gb18030"),
    "messages/v1_sft_demo.jsonl": ("openai", "utf-8"),
    "openai_messages/toy_chat_fine_tuning.jsonl": ("openai", "utf-8"),
    "sharegpt/dummy_conversation.json": ("sharegpt", "utf-8"),
    "sharegpt/glaive_toolcall_en_demo.json": ("sharegpt", "utf-8"),
    "sharegpt/medicalgpt_medical_sft_1K_format.jsonl": ("sharegpt", "utf-8"),
    "sharegpt/medicalgpt_sharegpt_zh_1K_format.jsonl": ("sharegpt", "utf-8"),
    "sharegpt/torchtune_chat_tiny.json": ("sharegpt", "utf-8"),
}
TOKENIZERS = REAL_TOKENIZERS + ("tiny",)
QUICK_RECORDS = int(os.environ.get("TUNE_EXACTNESS_RECORDS", 3))
FULL_RECORDS = 15  # the slow matrix: enough records per file to meet the quirks, in CI's time
MAX_TURNS_CHECKED = 12  # (b) re-renders every prefix: bound it on the 330-turn conversation


@pytest.fixture(scope="module")
def saved_tokenizers(real_tokenizer_dirs, tiny_dir, tmp_path_factory):
    """(tokenizer name, template) -> the tokenizer as `tune train` saves it: control tokens added, the template
    as its chat_template. A tokenizer that gained tokens is saved and reloaded from disk, as a server loads it;
    templates that add the same tokens (none, mostly) share one copy, its chat_template swapped per template."""
    from transformers import AutoTokenizer

    from tune.models.vocab import missing_control_tokens

    dirs = {**real_tokenizer_dirs, "tiny": tiny_dir}
    cache = {}

    def get(tok_name: str, template: str):
        plain = AutoTokenizer.from_pretrained(dirs[tok_name]) if (tok_name, ()) not in cache else cache[(tok_name, ())]
        cache[(tok_name, ())] = plain
        missing = tuple(missing_control_tokens(plain, get_template(template, plain).control_tokens))
        if (tok_name, missing) not in cache:
            tok = AutoTokenizer.from_pretrained(dirs[tok_name])
            add_control_tokens(tok, missing, template)
            folder = tmp_path_factory.mktemp(f"{tok_name}-{len(cache)}")
            tok.save_pretrained(folder)
            cache[(tok_name, missing)] = AutoTokenizer.from_pretrained(folder)
        tok = cache[(tok_name, missing)]
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        if template != "tokenizer":
            tok.chat_template = to_jinja(get_template(template, tok))
        elif tok_name == "tiny":
            tok.chat_template = CHATML_JINJA
        return tok

    return get


def templates_for(tok_name: str) -> list[str]:
    # template=tokenizer needs the tokenizer's own chat_template: only the tiny default ships one
    return [t for t in template_names() if t != "tokenizer" or tok_name == "tiny"]


def build(tokenizer, template: str, rel: str, records: int):
    from tune.data.dataset import build_dataset

    path = SHARED_DATA / rel
    if not path.exists():
        pytest.skip(f"real sample {path} not present")
    fmt, encoding, *columns = SAMPLES[rel]
    cfg = DataConfig(
        path=str(path),
        format=fmt,
        encoding=encoding,
        on_error="skip",
        max_length=10**7,
        max_samples=records,
        columns=columns[0] if columns else {},
    )
    return build_dataset(cfg, tokenizer, get_template(template, tokenizer))


def chat_messages(row) -> list[dict]:
    return [{"role": m["role"], "content": m["content"]} for m in row["messages"]]


def tools_of(row):
    return json.loads(row["tools"]) if row["tools"] else None


def apply(tokenizer, messages, tools, **kw) -> list[int]:
    return tokenizer.apply_chat_template(
        messages, tools=tools, tokenize=True, return_dict=False, sanitize_control_tokens=True, **kw
    )


def decode_span(tokenizer, ids, start, end) -> str:
    """Text of ids[start:end] as the difference of two prefix decodes, behind an anchor token: sentencepiece
    decoders drop the leading space of whatever they decode."""
    anchor = tokenizer("a", add_special_tokens=False)["input_ids"]
    return tokenizer.decode(anchor + ids[:end])[len(tokenizer.decode(anchor + ids[:start])) :]


def expected_answers(template: str, tokenizer, messages) -> list[str]:
    """Each trained answer as the template's fields say it is labelled: lead + content + end of turn, where an
    answer that another turn follows ends with the template's turn end (chatglm3: the next role token)."""
    renderer = get_template(template, tokenizer)
    t = TEMPLATES[template]
    turns = [m for m in messages if m["role"] != "system"]
    out = []
    for i, m in enumerate(turns):
        if m["role"] != "assistant" or m.get("train") is False:
            continue
        if i == len(turns) - 1:
            end = renderer.end_of_turn
        else:
            end = renderer.fill(t.end_between)
            if t.next_role_ends_turn:
                nxt = turns[i + 1]["role"]
                header = renderer.fill(
                    (t.tool or t.user)[0] if nxt == "tool" else t.user[0] if nxt == "user" else t.assistant[0]
                )
                end += next((c for c in t.control_tokens if header.startswith(c)), "")
        out.append(t.answer_lead + m["content"] + end)
    return out


def first_merge_across_a_label_boundary(tokenizer, template: str, row) -> int | None:
    """Where one call on the text first has a token covering labelled and unlabelled characters (None: nowhere)."""
    from tune.data.conversation import Conversation

    segs = get_template(template, tokenizer).render(Conversation.from_dicts(row["messages"], row["tools"]))
    bounds, pos = set(), 0
    for a, b in zip(segs, segs[1:] + [None]):
        pos += len(a.text)
        if b is not None and a.labelled != b.labelled:
            bounds.add(pos)
    offsets = tokenizer(row["text"], add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    return min((p for s, e in offsets for p in bounds if s < p < e), default=None)


def check_example(tokenizer, template: str, row) -> bool:
    """Checks a, b and c on one example; returns whether it is one-call exact."""
    ids, labels = row["input_ids"], row["labels"]
    messages, tools = chat_messages(row), tools_of(row)
    assert all(lab in (IGNORE_INDEX, tok) for tok, lab in zip(ids, labels))
    # a. the whole conversation, as the saved tokenizer renders and tokenises it
    assert tokenizer.apply_chat_template(messages, tools=tools, tokenize=False) == row["text"]
    exact = ids == apply(tokenizer, messages, tools)
    merge_at = None if exact else first_merge_across_a_label_boundary(tokenizer, template, row)
    assert exact or merge_at is not None, "trained ids differ from apply_chat_template"
    # b. the prompt before every assistant turn is the served generation prompt
    starts = [i for i in range(len(labels)) if labels[i] != IGNORE_INDEX and (i == 0 or labels[i - 1] == IGNORE_INDEX)]
    trained = [m.get("train") is not False for m in row["messages"]]
    answer_index = [k for k, m in enumerate(messages) if m["role"] == "assistant"]
    runs = iter(starts)
    for k in answer_index[:MAX_TURNS_CHECKED]:
        if (
            merge_at is not None
            and len(
                tokenizer.apply_chat_template(messages[:k], tools=tools, tokenize=False, add_generation_prompt=True)
            )
            > merge_at
        ):
            break
        prompt = apply(tokenizer, messages[:k], tools, add_generation_prompt=True)
        assert ids[: len(prompt)] == prompt, f"turn {k}: prompt ids differ from the generation prompt"
        if trained[k]:
            assert next(runs) == len(prompt), f"turn {k}: the answer's labels do not start where the prompt ends"
    # c. labelled tokens are exactly the answers with their lead and end-of-turn text
    if template != "tokenizer":
        ends = [
            i
            for i in range(1, len(labels) + 1)
            if labels[i - 1] != IGNORE_INDEX and (i == len(labels) or labels[i] == IGNORE_INDEX)
        ]
        got = [decode_span(tokenizer, ids, s, e) for s, e in zip(starts, ends)]
        assert got == expected_answers(template, tokenizer, row["messages"])
    # one call on the rendered text, wherever the data holds no control-token strings
    if not exact or ids == tokenizer(row["text"], add_special_tokens=False)["input_ids"]:
        return exact
    specials = {t.content for t in tokenizer.added_tokens_decoder.values() if t.special}
    assert any(s in m["content"] for m in messages for s in specials), "ids differ from one call on the text"
    return exact


def run_matrix(saved_tokenizers, tok_name: str, template: str, records: int) -> int:
    tokenizer = saved_tokenizers(tok_name, template)
    checked = 0
    for rel in SAMPLES:
        ds, summary = build(tokenizer, template, rel, records)
        not_exact = sum(not check_example(tokenizer, template, row) for row in ds)
        assert summary.not_one_call == not_exact  # every such example is reported to the user
        checked += len(ds)
    return checked


@pytest.mark.parametrize("tok_name", TOKENIZERS)
@pytest.mark.parametrize("template", template_names())
def test_trained_ids_are_served_ids(saved_tokenizers, tok_name, template):
    if template not in templates_for(tok_name):
        pytest.skip("template=tokenizer needs a tokenizer with its own chat_template")
    assert run_matrix(saved_tokenizers, tok_name, template, QUICK_RECORDS) > 0


@pytest.mark.slow
@pytest.mark.parametrize("tok_name", TOKENIZERS)
def test_trained_ids_are_served_ids_full_matrix(saved_tokenizers, tok_name):
    for template in templates_for(tok_name):
        assert run_matrix(saved_tokenizers, tok_name, template, FULL_RECORDS) > 0
