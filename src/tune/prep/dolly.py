"""databricks-dolly-15k -> alpaca records: the context, when present, becomes the input."""
from __future__ import annotations

from ..data.reading import expand_paths, read_records
from .report import PrepReport, progress


def convert(args, report: PrepReport):
    for path in expand_paths(args.inp):
        for raw in progress(read_records(path), desc=path):
            report.records_in += 1
            rec = raw.record
            if raw.error or not isinstance(rec, dict):
                report.skip("invalid JSON line")
                continue
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
