"""Byte-level BPE pre-tokenizers as llama.cpp names them (``tokenizer.ggml.pre``) and as a Hugging Face
tokenizer.json spells them: the name a GGUF file needs is the one whose splitting equals the tokenizer's own.

llama.cpp does not read a tokenizer's pre-tokenizer: it picks one of its built-in regex lists by the file's
``tokenizer.ggml.pre`` (src/llama-vocab.cpp), and its converter finds that name by hashing the ids of one
sample text against a table of known models, so a tokenizer trained here (tune's tiny one) has no known hash
and is refused. Here the choice is made by behaviour: each known name's regex list, applied as llama.cpp
applies it (each regex splits the pieces the previous one left, unmatched text kept as its own piece), must
split a set of check texts exactly as the tokenizer's pre-tokenizer does. Written by hand because neither
the gguf package nor transformers has this table; the regexes are llama.cpp's, verbatim.
"""
from __future__ import annotations

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
LLAMA3 = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
          r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
         r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# llama.cpp name -> its regex list (first name of each family, as llama.cpp's converter writes it)
LLAMA_CPP_PRE: dict[str, tuple[str, ...]] = {
    "gpt-2": (GPT2,),
    "smollm": (r"\p{N}", GPT2),
    "llama-bpe": (LLAMA3,),
    "qwen2": (QWEN2,),
}


def _byte_level(use_regex: bool) -> dict:
    return {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": use_regex}


def _split(regex: str) -> dict:
    return {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False}


# llama.cpp name -> the tokenizer.json pre_tokenizer that splits the same way (to restore one that a GGUF
# file names: transformers rebuilds every byte-level GGUF tokenizer with plain ByteLevel)
HF_PRE_TOKENIZERS: dict[str, dict] = {
    "gpt-2": _byte_level(True),
    "smollm": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True},
                                                      _byte_level(True)]},
    "llama-bpe": {"type": "Sequence", "pretokenizers": [_split(LLAMA3), _byte_level(False)]},
    "qwen2": {"type": "Sequence", "pretokenizers": [_split(QWEN2), _byte_level(False)]},
}

# llama.cpp's own check text (convert_hf_to_gguf.py's chktxt) and more: numbers of every length, code,
# Chinese, apostrophes in every case, runs of spaces, tabs and newlines
CHECK_TEXTS = (
    "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ "
    "🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 "
    "កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ------======= "
    "нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure "
    "I'll make it, 'D you like some tea? We'Ve a'lL",
    "def f(x):\n    return x**2  # 2024-12-06\r\n\tprint('done')\n\n\n",
    "患者：我头痛三天了，体温38.5度。\n医生：建议多喝水， 休息2天。  Human: hi\nAssistant:",
    "  leading and trailing spaces   ",
)


def split_like_llama_cpp(text: str, regexes: tuple[str, ...]) -> list[str]:
    import regex

    pieces = [text]
    for pattern in regexes:
        compiled, out = regex.compile(pattern), []
        for piece in pieces:
            pos = 0
            for m in compiled.finditer(piece):
                if m.start() > pos:
                    out.append(piece[pos:m.start()])
                if m.end() > m.start():
                    out.append(m.group())
                pos = m.end()
            if pos < len(piece):
                out.append(piece[pos:])
        pieces = out
    return pieces


def split_like_tokenizer(pre_tokenizer, text: str) -> list[str]:
    """The pieces a tokenizers.PreTokenizer makes of ``text``, as substrings of it (byte-level mapping undone)."""
    return [text[start:end] for _, (start, end) in pre_tokenizer.pre_tokenize_str(text)]


def llama_cpp_pre_name(pre_tokenizer) -> str | None:
    """The llama.cpp name whose splitting equals ``pre_tokenizer``'s on every check text (None: none does)."""
    if pre_tokenizer is None:
        return None
    wanted = [split_like_tokenizer(pre_tokenizer, t) for t in CHECK_TEXTS]
    for name, regexes in LLAMA_CPP_PRE.items():
        if [split_like_llama_cpp(t, regexes) for t in CHECK_TEXTS] == wanted:
            return name
    return None
