"""The pre-tokenizer a GGUF file names (tokenizer.ggml.pre) follows how the tokenizer splits text, and a GGUF
file's name survives import into the dequantised folder's tokenizer.json."""
from __future__ import annotations

import json
import os
import shutil


def test_pre_tokenizer_names_follow_splitting(tiny_dir):
    """Each name tune restores into a tokenizer.json splits as llama.cpp's regexes of that name, and no two
    names split alike (so the choice is never ambiguous); tune's own tiny tokenizer is gpt-2's."""
    import json

    from tokenizers import Tokenizer

    from tune.models.pretokenizers import HF_PRE_TOKENIZERS, llama_cpp_pre_name

    empty = {"version": "1.0", "added_tokens": [], "normalizer": None, "post_processor": None, "decoder": None,
             "truncation": None, "padding": None,
             "model": {"type": "BPE", "vocab": {}, "merges": [], "dropout": None, "unk_token": None,
                       "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": False,
                       "byte_fallback": False, "ignore_merges": False}}
    for name, spec in HF_PRE_TOKENIZERS.items():
        tokenizer = Tokenizer.from_str(json.dumps({**empty, "pre_tokenizer": spec}))
        assert llama_cpp_pre_name(tokenizer.pre_tokenizer) == name
    assert llama_cpp_pre_name(Tokenizer.from_file(os.path.join(tiny_dir, "tokenizer.json")).pre_tokenizer) == "gpt-2"


def test_import_restores_the_files_pre_tokenizer(tiny_dir, tmp_path):
    """transformers rebuilds a GGUF tokenizer with plain ByteLevel: the file's own splitting is put back (known
    names), and anything else is left alone."""
    from tokenizers import Tokenizer

    from tune.models.gguf import restore_pre_tokenizer
    from tune.models.pretokenizers import llama_cpp_pre_name

    path = tmp_path / "tokenizer.json"
    for pre, want in (("smollm", "smollm"), ("qwen2", "qwen2"), ("default", "gpt-2"), (None, "gpt-2")):
        shutil.copy(os.path.join(tiny_dir, "tokenizer.json"), path)
        restore_pre_tokenizer(str(path), pre)
        assert llama_cpp_pre_name(Tokenizer.from_file(str(path)).pre_tokenizer) == want, pre
    assert Tokenizer.from_file(str(path)).encode("7 days").tokens == Tokenizer.from_file(
        os.path.join(tiny_dir, "tokenizer.json")).encode("7 days").tokens
    spec = json.loads(path.read_text())
    assert spec["pre_tokenizer"]["type"] == "ByteLevel"
