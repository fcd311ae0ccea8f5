"""cMedQA2 (zhangsheng93/cMedQA2): join question.csv (question_id,content) and answer.csv
(ans_id,question_id,content), zipped or not, UTF-8 or GB18030, into Q/A records
{question_id, ans_id, question, answer}; with --merge-answers, one record per question whose answer
lists every answer as "1.…\n2.…" (Chinese-Vicuna-medical's third mode)."""
from __future__ import annotations

import csv
import io
import os
import zipfile

from ..errors import DataError
from .report import PrepReport, progress


def _find(folder: str, stem: str) -> str:
    for name in (f"{stem}.csv", f"{stem}.zip", f"{stem}.csv.zip"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    raise DataError(f"no {stem}.csv or {stem}.zip in the folder", source=folder)


def read_text(path: str, encoding: str) -> str:
    """The CSV text of a .csv or of the first .csv inside a .zip; encoding 'auto' tries UTF-8, then GB18030."""
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            members = [n for n in z.namelist() if n.endswith(".csv") and not n.startswith("__MACOSX")]
            if not members:
                raise DataError("no .csv inside the zip", source=path)
            data = z.read(members[0])
    else:
        with open(path, "rb") as f:
            data = f.read()
    for enc in (["utf-8-sig", "gb18030"] if encoding == "auto" else [encoding]):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DataError(f"cannot decode as {encoding}; pass --encoding", source=path)


def _rows(path: str, encoding: str, columns: tuple[str, ...]):
    reader = csv.DictReader(io.StringIO(read_text(path, encoding), newline=""))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)} (header: {reader.fieldnames})", source=path, line=1)
    return reader


def _clean(text: str | None) -> str:
    return (text or "").strip().strip(":").strip()


def convert(args, report: PrepReport):
    folder = args.inp
    questions = {row["question_id"]: _clean(row["content"])
                 for row in _rows(_find(folder, "question"), args.encoding, ("question_id", "content"))}
    merged: dict[str, list[str]] = {}
    for row in progress(_rows(_find(folder, "answer"), args.encoding, ("ans_id", "question_id", "content")),
                        desc="answers"):
        report.records_in += 1
        question, answer = questions.get(row["question_id"]), _clean(row["content"])
        if question is None:
            report.skip("answer to an unknown question_id")
            continue
        if not question:
            report.skip("empty question")
            continue
        if not answer:
            report.skip("empty answer")
            continue
        if args.merge_answers:
            merged.setdefault(row["question_id"], []).append(answer)
        else:
            yield {"question_id": row["question_id"], "ans_id": row["ans_id"], "question": question, "answer": answer}
    for qid, answers in merged.items():
        yield {"question_id": qid, "question": questions[qid],
               "answer": "".join(f"{i}.{a}\n" for i, a in enumerate(answers, start=1))}


def add_args(parser) -> None:
    parser.add_argument("--encoding", default="auto", help="auto (UTF-8, else GB18030) or a codec name")
    parser.add_argument("--merge-answers", action="store_true", help="one record per question, answers numbered")
