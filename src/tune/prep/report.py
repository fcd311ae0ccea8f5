"""What every data_prep script shares: counting records in, written and skipped by reason; an
atomic JSONL writer (so a rerun replaces the output whole: idempotent); the command-line frame."""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field


@dataclass
class PrepReport:
    records_in: int = 0
    written: int = 0
    skipped: Counter = field(default_factory=Counter)

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def line(self) -> str:
        reasons = ", ".join(f"{r}: {n}" for r, n in self.skipped.most_common())
        total = sum(self.skipped.values())
        return (f"records in {self.records_in}, written {self.written}, skipped {total}"
                + (f" ({reasons})" if reasons else ""))


def write_jsonl(path: str, records: Iterable[dict], report: PrepReport) -> None:
    """Write records to path via a temp file and a rename; counts what it writes."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                report.written += 1
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def progress(items: Iterable, desc: str, total: int | None = None) -> Iterator:
    from tqdm import tqdm
    return iter(tqdm(items, desc=desc, total=total, unit=" rec", file=sys.stderr, disable=None))


def raw_records(inp: str, report: PrepReport, encoding: str = "utf-8") -> Iterator:
    """Every JSON-object record of a file, folder or glob, with a progress bar; others are counted as skipped."""
    from ..data.reading import expand_paths, read_records

    for path in expand_paths(inp):
        for raw in progress(read_records(path, encoding), desc=path):
            report.records_in += 1
            if raw.error or not isinstance(raw.record, dict):
                report.skip("invalid JSON" if raw.error else "not a JSON object")
                continue
            yield raw


def run_cli(description: str, add_args: Callable[[argparse.ArgumentParser], None],
            convert: Callable[[argparse.Namespace, PrepReport], Iterable[dict]], argv: list[str] | None = None) -> int:
    """Parse --in/--out (+ extras), convert, write, print the counts; errors are one line, exit 2."""
    from ..errors import TuneError

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--in", dest="inp", required=True, help="the raw dump (file or folder)")
    parser.add_argument("--out", required=True, help="the JSONL file to write")
    add_args(parser)
    args = parser.parse_args(argv)
    report = PrepReport()
    try:
        write_jsonl(args.out, convert(args, report), report)
    except (TuneError, OSError) as err:
        print(f"{parser.prog}: {err}", file=sys.stderr)
        return 2
    print(f"{parser.prog}: {args.out}: {report.line()}", file=sys.stderr)
    return 0
