"""The tokenised-data cache key changes with everything that decides the cached examples: every data config
field (a field added later cannot escape: it is in NOT_IN_KEY or it changes the key), the files' bytes and
paths, the tokenizer's state, the renderer's own text (a named template's every field, the tokenizer's Jinja
chat_template, control tokens, the system prompt)."""
import copy
import dataclasses
import enum
import typing

import pytest

from tune.config import DataConfig
from tune.data import cache
from tune.data.dataset import Source
from tune.data.templates import TEMPLATES, TemplateRenderer, get_template
from tune.data.tokenizer_template import TokenizerTemplateRenderer
from tune.models.vocab import add_control_tokens


def changed(value, hint):
    """Another valid-looking value of the field's type."""
    if value is None:
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return 3 if inner and inner[0] is int else "x"
    if isinstance(value, bool):
        return not value
    if isinstance(value, enum.Enum):
        return next(m for m in type(value) if m != value)
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return value + ["x"]
    if isinstance(value, dict):
        return {**value, "instruction": "question"}
    raise AssertionError(f"no change known for {value!r}: teach this test the field's type")


@pytest.fixture
def sources(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"instruction": "Hi.", "output": "Hello."}\n', encoding="utf-8")
    return [Source(str(path), "alpaca")]


def key(sources, tokenizer, renderer=None, cfg=None):
    return cache.cache_key(cfg or DataConfig(), sources, tokenizer, renderer or get_template("alpaca", tokenizer))


HINTS = typing.get_type_hints(DataConfig)


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(DataConfig)])
def test_every_data_field_is_in_the_key_or_named_as_not_shaping_examples(field, sources, tokenizer):
    cfg = DataConfig()
    setattr(cfg, field, changed(getattr(cfg, field), HINTS[field]))
    if field in cache.NOT_IN_KEY:
        assert key(sources, tokenizer, cfg=cfg) == key(sources, tokenizer)
    else:
        assert key(sources, tokenizer, cfg=cfg) != key(sources, tokenizer), f"data.{field} escapes the cache key"


def test_file_bytes_path_and_source_fields_change_the_key(sources, tokenizer, tmp_path):
    before = key(sources, tokenizer)
    copy_path = tmp_path / "copy.jsonl"  # the same bytes elsewhere: examples carry their source path
    copy_path.write_bytes(open(sources[0].path, "rb").read())
    assert key([Source(str(copy_path), "alpaca")], tokenizer) != before
    for name, value in [("format", "sharegpt"), ("weight", 2.0), ("encoding", "gb18030"),
                        ("columns", {"output": "answer"}), ("ignore", ("meta",))]:
        assert key([dataclasses.replace(sources[0], **{name: value})], tokenizer) != before, name
    with open(sources[0].path, "a", encoding="utf-8") as f:
        f.write('{"instruction": "Bye.", "output": "Bye."}\n')
    assert key(sources, tokenizer) != before


def test_tokenizer_state_changes_the_key(sources, tokenizer):
    other = copy.deepcopy(tokenizer)
    add_control_tokens(other, ["<|new_marker|>"], "test", True)
    assert key(sources, other, get_template("alpaca", other)) != key(sources, tokenizer)


def test_the_tokenizers_own_chat_template_changes_the_key(sources, tokenizer):
    """template=tokenizer: the Jinja source decides the text (a user who edits chat_template.jinja's system
    prompt must not train on the old one)."""
    own = copy.deepcopy(tokenizer)
    before = key(sources, own, TokenizerTemplateRenderer(own))
    own.chat_template = own.chat_template.replace("<|im_start|>", "<|im_start|> ", 1)
    assert key(sources, own, TokenizerTemplateRenderer(own)) != before


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(TEMPLATES["alpaca"]) if f.name != "name"])
def test_every_template_field_changes_the_key(field, sources, tokenizer):
    base = TEMPLATES["alpaca"]
    value = getattr(base, field)
    new = (
        value + ("x",)
        if field in ("stop", "control_tokens")
        else (value[0] + "x", value[1])
        if isinstance(value, tuple)
        else (not value)
        if isinstance(value, bool)
        else (value or "") + "x"
    )
    other = TemplateRenderer(dataclasses.replace(base, **{field: new}), tokenizer)
    assert key(sources, tokenizer, other) != key(sources, tokenizer), f"Template.{field} escapes the cache key"


def test_each_renderer_fingerprints_itself(tokenizer):
    """The key reads a renderer's own fingerprint, not its class name: both kinds have one, and they differ."""
    named, own = get_template("chatml", tokenizer), TokenizerTemplateRenderer(tokenizer)
    assert named.fingerprint() != own.fingerprint()
    assert TemplateRenderer(TEMPLATES["chatml"], tokenizer).fingerprint() == named.fingerprint()
