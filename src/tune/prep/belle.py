"""BELLE multi-turn data ("Human: ...\nAssistant: ..." packed in the instruction, the last answer in
output) -> OpenAI-style {"messages": [...]} records with real turns."""
from __future__ import annotations

from ..data.conversation import InvalidConversation
from ..data.formats import belle
from .report import PrepReport, raw_records


def convert(args, report: PrepReport):
    for raw in raw_records(args.inp, report):
        try:
            conv = belle.to_conversation(raw.record)
        except InvalidConversation as err:
            report.skip(f"{err.field}: {err.reason}")
            continue
        yield {"messages": [{"role": m["role"], "content": m["content"]} for m in conv.to_dicts()]}


def add_args(parser) -> None:
    pass
