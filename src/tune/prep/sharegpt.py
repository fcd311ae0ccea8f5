"""ShareGPT dumps -> clean ShareGPT JSONL, as FastChat prepared Vicuna's data (fastchat/data/clean_sharegpt.py,
optional_clean.py, split_long_conversation.py): assistant HTML to markdown, empty or broken
conversations dropped, an optional language filter, duplicates removed, and conversations longer than
a token limit split at turn boundaries."""
from __future__ import annotations

import hashlib
import json
import os
import re

from ..data.conversation import ROLE_ALIASES
from ..extras import require
from .report import PrepReport, raw_records

USER_SIDE, ASSISTANT_SIDE = {"user", "tool"}, {"assistant"}
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def html_to_markdown(text: str) -> str:
    """ShareGPT stores ChatGPT answers as HTML; markdownify turns it back into markdown (plain text passes)."""
    if "<" not in text or not re.search(r"</?(p|div|code|pre|ol|ul|li|table|span|br|h\d|strong|em)\b", text):
        return text.strip()
    require("prep", "ShareGPT's HTML answers (data_prep/sharegpt.py)")
    from bs4 import BeautifulSoup
    from markdownify import markdownify

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup.find_all(["button", "svg", "img"]):  # copy buttons and icons of the web page
        tag.decompose()
    md = markdownify(str(soup), heading_style="ATX", code_language="")
    return re.sub(r"\n{3,}", "\n\n", md).strip()


def language_of(text: str) -> str:
    """'zh' when CJK characters are at least a tenth of the letters, else 'en' (a cheap script heuristic)."""
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    return "zh" if cjk and cjk * 10 >= (cjk + latin) else "en"


def clean_turns(turns: list) -> tuple[list[dict] | None, str]:
    """Normalised turns or (None, reason): roles must alternate user-side/assistant-side, from a user turn."""
    out = []
    for t in turns:
        if not isinstance(t, dict) or not isinstance(t.get("value"), str):
            return None, "turn without text"
        role = ROLE_ALIASES.get(str(t.get("from", "")).lower())
        if role is None:
            return None, f"unknown role {t.get('from')!r}"
        if role == "system":
            out.append({"from": t["from"], "value": t["value"].strip()})
            continue
        value = html_to_markdown(t["value"]) if role == "assistant" else t["value"].strip()
        if not value:
            return None, "empty turn"
        out.append({"from": t["from"], "value": value})
    body = [t for t in out if ROLE_ALIASES[t["from"].lower()] != "system"]
    while body and ROLE_ALIASES[body[0]["from"].lower()] not in USER_SIDE:  # FastChat drops leading bot turns
        body.pop(0)
    if len(body) < 2:
        return None, "no question and answer"
    for a, b in zip(body, body[1:]):
        side_a = ROLE_ALIASES[a["from"].lower()] in USER_SIDE
        side_b = ROLE_ALIASES[b["from"].lower()] in USER_SIDE
        if side_a == side_b:
            return None, "turns do not alternate"
    if ROLE_ALIASES[body[-1]["from"].lower()] in USER_SIDE:
        body.pop()  # a trailing question has no answer
    systems = [t for t in out if ROLE_ALIASES[t["from"].lower()] == "system"]
    return systems + body, ""


def split_long(turns: list[dict], count_tokens, max_tokens: int) -> list[list[dict]]:
    """Split at turn boundaries into pieces of at most max_tokens (a single longer pair stays whole),
    each starting with a user-side turn, as FastChat's split_long_conversation does."""
    pieces, cur, size = [], [], 0
    pairs = [turns[i:i + 2] for i in range(0, len(turns), 2)]
    for pair in pairs:
        n = sum(count_tokens(t["value"]) for t in pair)
        if cur and size + n > max_tokens:
            pieces.append(cur)
            cur, size = [], 0
        cur += pair
        size += n
    if cur:
        pieces.append(cur)
    return [p for p in pieces if len(p) >= 2]


def convert(args, report: PrepReport):
    count_tokens = _token_counter(args.tokenizer) if args.max_tokens else None
    seen: set[str] = set()
    for raw in raw_records(args.inp, report):
        rec = raw.record
        turns = rec.get("conversations") or rec.get("items")
        if not isinstance(turns, list) or not turns:
            report.skip("no conversations")
            continue
        cleaned, reason = clean_turns(turns)
        if cleaned is None:
            report.skip(reason)
            continue
        text = "\n".join(t["value"] for t in cleaned)
        if args.lang and language_of(text) != args.lang:
            report.skip(f"language is not {args.lang}")
            continue
        digest = hashlib.sha1(json.dumps(cleaned, ensure_ascii=False).encode()).hexdigest()
        if digest in seen:
            report.skip("duplicate")
            continue
        seen.add(digest)
        system = [t for t in cleaned if ROLE_ALIASES[t["from"].lower()] == "system"]
        body = cleaned[len(system):]
        pieces = split_long(body, count_tokens, args.max_tokens) if count_tokens else [body]
        base = {k: v for k, v in rec.items() if k not in ("conversations", "items")}
        # a record without an id gets FILE_NAME:LINE (the name, not the path: ids must not leak the user's folders)
        base.setdefault("id", f"{os.path.basename(raw.source)}:{raw.line}")
        for i, piece in enumerate(pieces):
            yield {**base, "id": base["id"] if len(pieces) == 1 else f"{base['id']}_{i}",
                   "conversations": system + piece}


def _token_counter(tokenizer_path: str | None):
    from transformers import AutoTokenizer

    if not tokenizer_path:
        from ..models.tiny import tiny_model_dir
        tokenizer_path = tiny_model_dir()
    tok = AutoTokenizer.from_pretrained(tokenizer_path)
    return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


def add_args(parser) -> None:
    parser.add_argument("--lang", choices=["en", "zh"], help="keep only conversations in this language")
    parser.add_argument("--max-tokens", type=int, default=0, help="split conversations longer than this (0: never)")
    parser.add_argument("--tokenizer", help="tokenizer folder for --max-tokens (default: the tiny model's)")
