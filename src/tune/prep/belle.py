"""BELLE multi-turn data ("Human: ...\nAssistant: ..." packed in the instruction, the last answer in
output) -> OpenAI-style {"messages": [...]} records with real turns."""
from __future__ import annotations

from ..data.conversation import InvalidConversation
from ..data.formats import belle
from ..data.reading import expand_paths, read_records
from .report import PrepReport, progress


def convert(args, report: PrepReport):
    for path in expand_paths(args.inp):
        for raw in progress(read_records(path), desc=path):
            report.records_in += 1
            if raw.error or not isinstance(raw.record, dict):
                report.skip("invalid JSON line")
                continue
            try:
                conv = belle.to_conversation(raw.record)
            except InvalidConversation as err:
                report.skip(f"{err.field}: {err.reason}")
                continue
            yield {"messages": [{"role": m["role"], "content": m["content"]} for m in conv.to_dicts()]}


def add_args(parser) -> None:
    pass
