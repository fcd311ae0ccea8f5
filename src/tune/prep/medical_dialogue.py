"""Chinese medical dialogue CSVs (Toyhom/Chinese-medical-dialogue-data): department, title, ask, answer;
GB18030. Written as alpaca/Huatuo records: the ask (or the title when the ask is empty or "无") is the
instruction, the answer the output, the department kept."""
from __future__ import annotations

from .report import PrepReport, raw_records

EMPTY = {"", "无", "null", "none"}


def convert(args, report: PrepReport):
    for raw in raw_records(args.inp, report, args.encoding):
        rec = raw.record
        if "answer" not in rec:
            report.skip("not a department,title,ask,answer row")
            continue
        ask = (rec.get("ask") or "").strip()
        question = ask if ask.lower() not in EMPTY else (rec.get("title") or "").strip()
        answer = (rec.get("answer") or "").strip()
        if not question:
            report.skip("empty question (ask and title)")
            continue
        if not answer:
            report.skip("empty answer")
            continue
        yield {"instruction": question, "input": "", "output": answer,
               "department": (rec.get("department") or "").strip()}


def add_args(parser) -> None:
    parser.add_argument("--encoding", default="gb18030", help="text encoding of the CSVs (default gb18030)")
