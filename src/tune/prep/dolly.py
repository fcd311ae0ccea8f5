"""databricks-dolly-15k -> alpaca records: the context, when present, becomes the input."""
from __future__ import annotations

from .report import PrepReport, raw_records


def convert(args, report: PrepReport):
    for raw in raw_records(args.inp, report):
        rec = raw.record
        instruction, response = (rec.get("instruction") or "").strip(), (rec.get("response") or "").strip()
        if not instruction:
            report.skip("empty instruction")
            continue
        if not response:
            report.skip("empty response")
            continue
        yield {"instruction": instruction, "input": (rec.get("context") or "").strip(), "output": response,
               "category": rec.get("category", "")}


def add_args(parser) -> None:
    pass
