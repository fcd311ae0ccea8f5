"""`tune chat checkpoint=DIR`: an interactive, streaming, multi-turn chat with the training template."""
from __future__ import annotations

import sys

from ..data.conversation import Conversation, Message
from .generation import generate_replies

HELP = "type a message; /reset starts over, /exit quits"


def chat_loop(trained, max_new_tokens: int = 256, temperature: float = 0.0, inp=sys.stdin, out=sys.stdout) -> None:
    from transformers import TextStreamer

    conv = Conversation()
    print(f"tune chat ({trained.meta.template} template): {HELP}", file=out, flush=True)
    streamer = (
        TextStreamer(trained.tokenizer, skip_prompt=True, skip_special_tokens=True) if out is sys.stdout else None
    )
    while True:
        print("user> ", end="", file=out, flush=True)
        line = inp.readline()
        if not line or line.strip() == "/exit":
            print(file=out)
            return
        text = line.rstrip("\n")
        if text.strip() == "/reset":
            conv = Conversation()
            print("(conversation reset)", file=out, flush=True)
            continue
        if not text.strip():
            continue
        conv.messages.append(Message("user", text))
        print("assistant> ", end="", file=out, flush=True)
        reply = generate_replies(
            trained.model, trained.tokenizer, trained.renderer, [conv], max_new_tokens, temperature, streamer=streamer
        )[0]
        if streamer is None:
            print(reply, file=out, flush=True)
        conv.messages.append(Message("assistant", reply))
