"""Read raw records from files with their line numbers, so every error can say FILE:LINE.

Files: a JSON array or a single JSON object, JSON Lines (also when named .json), CSV/TSV, each
optionally gzip-compressed; folders and globs expand to their supported files in sorted order.
Text is UTF-8 with or without BOM unless ``encoding`` says otherwise (e.g. gb18030).
Written by hand rather than with ``datasets.load_dataset("json")`` because that loses line numbers
and silently coerces mixed-type fields; the records are handed to ``datasets`` right after.
"""
from __future__ import annotations

import csv
import sys
import glob
import gzip
import io
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from .json_depth import TOO_DEEP, without_cyclic_gc
from ..errors import DataError

SUFFIXES = (".json", ".jsonl", ".csv", ".tsv")


@dataclass
class RawRecord:
    source: str
    line: int
    record: object  # usually a dict; anything else is reported by the adapter step
    error: str | None = None  # a JSON Lines line that does not parse: the caller raises or skips


def expand_paths(path: str) -> list[str]:
    """A file, a folder or a glob -> the sorted list of data files; DataError when none exist."""
    if os.path.isdir(path):
        files = sorted(os.path.join(root, f) for root, _, names in os.walk(path) for f in names
                       if f.removesuffix(".gz").endswith(SUFFIXES))
    elif any(ch in path for ch in "*?["):
        files = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
    else:
        files = [path] if os.path.isfile(path) else []
    if not files:
        raise DataError("no such file (or no .json/.jsonl/.csv/.tsv files in it); set data.path", source=path)
    return files


def _codec(encoding: str) -> str:
    """data.encoding as Python decodes it: UTF-8 with or without a BOM."""
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


def _open_bytes(path: str):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _open_text(path: str, encoding: str) -> io.TextIOBase:
    return io.TextIOWrapper(_open_bytes(path), encoding=_codec(encoding), newline="")


def _decode_error(path: str, err: UnicodeDecodeError, encoding: str) -> DataError:
    """The error at its real place: the text reader reports offsets inside its current chunk, so the file is
    decoded again from the start, incrementally, to find the absolute byte offset and its line."""
    import codecs

    decoder = codecs.getincrementaldecoder(_codec(encoding))()
    offset, line = 0, 1
    with _open_bytes(path) as raw:
        for block in iter(lambda: raw.read(1 << 16), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as found:
                pending = len(found.object) - len(block)  # bytes of a character begun in the previous block
                at = offset - pending + found.start
                line += found.object[:found.start].count(b"\n")
                return DataError(f"cannot decode as {encoding} ({found.reason} at byte {at}); set data.encoding "
                                 "(e.g. data.encoding=gb18030)", source=path, line=line)
            line += block.count(b"\n")
            offset += len(block)
    return DataError(f"cannot decode as {encoding} ({err.reason}); set data.encoding (e.g. data.encoding=gb18030)",
                     source=path)


def read_records(path: str, encoding: str = "utf-8") -> Iterator[RawRecord]:
    """Yield every record of one file with the line it starts on."""
    kind = path.removesuffix(".gz").rsplit(".", 1)[-1].lower()
    try:
        if kind in ("csv", "tsv"):
            yield from _read_csv(path, encoding, "\t" if kind == "tsv" else ",")
        else:
            yield from _read_json(path, encoding)
    except UnicodeDecodeError as err:
        raise _decode_error(path, err, encoding) from None
    except LookupError:
        raise DataError(f"unknown text encoding {encoding!r}; set data.encoding (utf-8, gb18030, utf-16 ...)",
                        source=path) from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise DataError(f"not a complete gzip file ({err}); re-download it or give the uncompressed file",
                        source=path) from None


# csv's default 128 KB field limit refuses legitimate data (long medical dialogues run to hundreds of KB)
csv.field_size_limit(min(sys.maxsize, 2 ** 31 - 1))


def _read_csv(path: str, encoding: str, delimiter: str) -> Iterator[RawRecord]:
    with _open_text(path, encoding) as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        start = 1
        try:
            if reader.fieldnames is None:  # reads the header
                return
            start = reader.line_num + 1
            for row in reader:
                if None in row:
                    raise DataError(f"{len(row[None])} more field(s) than the header has", source=path, line=start)
                yield RawRecord(path, start, row)
                start = reader.line_num + 1
        except csv.Error as err:  # a NUL byte, an unterminated quote at the end of the file, ...
            raise DataError(f"not readable as CSV ({err})", source=path, line=start) from None


def _read_json(path: str, encoding: str) -> Iterator[RawRecord]:
    with _open_text(path, encoding) as f:
        head = f.read(4096)
        while head and not head.strip():  # leading blank space: read on to the first character
            more = f.read(1 << 20)
            if not more:
                break
            head += more
        first = head.lstrip()[:1]
        if first == "{":  # one object, or JSON Lines: the whole first line decides, however long
            chunks, found = [head], "\n" in head.lstrip()
            while not found:  # only the new chunk is searched: a one-line file stays linear
                more = f.read(1 << 20)
                if not more:
                    break
                chunks.append(more)
                found = "\n" in more
            head = "".join(chunks)
        if first == "[" or (first == "{" and not _looks_like_jsonl(head)):
            text = head + f.read()
            if first == "{" and _broken_jsonl(text):
                yield from _jsonl_lines(path, text.split("\n"))
                return
            yield from _read_json_document(path, text)
            return
        yield from _jsonl_lines(path, _chain_lines(head, f))


def _jsonl_lines(path: str, lines) -> Iterator[RawRecord]:
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = without_cyclic_gc(json.loads, line)
        except json.JSONDecodeError as err:
            yield RawRecord(path, lineno, None, error=f"invalid JSON ({err.msg} at column {err.colno})")
            continue
        except RecursionError:
            yield RawRecord(path, lineno, None, error=TOO_DEEP)
            continue
        yield RawRecord(path, lineno, record)


def _broken_jsonl(text: str) -> bool:
    """JSON Lines whose first line is broken: the text is not one JSON document, but its next non-empty line is
    a complete JSON object (a pretty-printed object's second line never is)."""
    try:
        without_cyclic_gc(json.loads, text)
        return False
    except (json.JSONDecodeError, RecursionError):
        pass
    lines = [l for l in text.split("\n")[1:] if l.strip()]
    if not lines:
        return False
    try:
        return isinstance(without_cyclic_gc(json.loads, lines[0]), dict)
    except (json.JSONDecodeError, RecursionError):
        return False


def _chain_lines(head: str, f) -> Iterator[str]:
    buf = head
    for chunk in iter(lambda: f.read(1 << 20), ""):
        buf += chunk
        *lines, buf = buf.split("\n")
        yield from lines
    yield from buf.split("\n")


def _looks_like_jsonl(head: str) -> bool:
    """True when the first line alone is a complete JSON value (JSON Lines named .json)."""
    first_line = head.lstrip().split("\n", 1)[0]
    try:
        without_cyclic_gc(json.loads, first_line)
        return True
    except json.JSONDecodeError:
        return False
    except RecursionError:  # a complete value, only too deep: JSON Lines, whose reader reports that line
        return True


class _LineCounter:
    """The line of a position in ``text``, counting newlines from the last position asked (records come in order:
    linear in the text, where a list of every newline's position cost seconds per 100 MB in Python)."""

    def __init__(self, text: str):
        self.text, self.pos, self.line = text, 0, 1

    def __call__(self, pos: int) -> int:
        if pos < self.pos:
            self.pos, self.line = 0, 1
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def _read_json_document(path: str, text: str) -> Iterator[RawRecord]:
    line_at = _LineCounter(text)

    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if text.startswith("{", pos):
        try:
            obj, end = without_cyclic_gc(decoder.raw_decode, text, pos)
        except json.JSONDecodeError as err:
            raise DataError(f"invalid JSON ({err.msg})", source=path, line=err.lineno) from None
        except RecursionError:
            raise DataError(TOO_DEEP, source=path, line=line_at(pos)) from None
        yield RawRecord(path, line_at(pos), obj)
        pos = _skip_ws(text, end)
        if pos < len(text):
            raise DataError("more JSON after the first object (two documents in one file? write JSON Lines, one "
                            "record per line, or one array)", source=path, line=line_at(pos))
        return
    pos = _skip_ws(text, pos + 1)  # past '['
    while pos < len(text) and text[pos] != "]":
        try:
            obj, end = without_cyclic_gc(decoder.raw_decode, text, pos)
        except json.JSONDecodeError as err:
            raise DataError(f"invalid JSON ({err.msg} at column {err.colno})", source=path, line=err.lineno) from None
        except RecursionError:
            raise DataError(TOO_DEEP, source=path, line=line_at(pos)) from None
        yield RawRecord(path, line_at(pos), obj)
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
        elif pos < len(text) and text[pos] != "]":
            raise DataError("invalid JSON (expected ',' or ']' between records)", source=path, line=line_at(pos))
    if pos >= len(text):
        raise DataError("invalid JSON (the array is not closed with ']')", source=path, line=line_at(len(text)))
    after = _skip_ws(text, pos + 1)
    if after < len(text):
        raise DataError("more text after the closing ']' (two arrays in one file? merge them into one array)",
                        source=path, line=line_at(after))


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos
