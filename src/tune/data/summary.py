"""Counts of what happened to every record, so nothing disappears uncounted."""
from __future__ import annotations

from collections import Counter
from dataclasses import MISSING, dataclass, field, fields


@dataclass
class DataSummary:
    records_read: int = 0
    examples_kept: int = 0
    skipped: Counter = field(default_factory=Counter)   # reason -> count (bad records, on_error=skip)
    truncated: int = 0
    no_labelled_token: int = 0
    repeated: int = 0            # extra copies made by data.mix weights above 1
    not_one_call: int = 0        # examples whose ids differ from one call on their text (labels kept exact)
    first_not_one_call: str = ""  # FILE:LINE of the first of them
    sources: list[str] = field(default_factory=list)    # "FILE (format F[, auto-detected])"
    unread: Counter = field(default_factory=Counter)    # field -> records whose value the format left unread

    def reset(self) -> None:
        """Back to nothing counted (a streamed source read again from the start counts itself again)."""
        for f in fields(self):
            setattr(self, f.name, f.default_factory() if f.default_factory is not MISSING else f.default)

    def merge(self, other: "DataSummary") -> None:
        self.records_read += other.records_read
        self.examples_kept += other.examples_kept
        self.skipped.update(other.skipped)
        self.truncated += other.truncated
        self.repeated += other.repeated
        self.no_labelled_token += other.no_labelled_token
        self.not_one_call += other.not_one_call
        self.first_not_one_call = self.first_not_one_call or other.first_not_one_call
        self.sources += other.sources
        self.unread.update(other.unread)

    def lines(self) -> list[str]:
        skipped = sum(self.skipped.values())
        reasons = ", ".join(f"{r}: {n}" for r, n in self.skipped.most_common())
        return [f"tune data: {s}" for s in self.sources] + [
            f"tune data: records read {self.records_read}, examples kept {self.examples_kept}, "
            f"skipped {skipped}" + (f" ({reasons})" if reasons else "")
            + f", truncated {self.truncated}, dropped for no labelled token {self.no_labelled_token}"
            + (f", repeated {self.repeated} (data.mix weights)" if self.repeated else "")] + ([
            f"tune data: {self.not_one_call} examples tokenise differently from one call on their rendered text, "
            f"first {self.first_not_one_call} (a token would cross a prompt/answer boundary: encoded piece by piece "
            f"there, labels exact; check the template or tokenizer)"] if self.not_one_call else []) + ([
            "tune data: fields left unread: " + ", ".join(f"{k} ({n} records)" for k, n in self.unread.most_common())
            + " (metadata, or data.ignore_fields; map one with data.columns to train on it)"] if self.unread else [])

    def to_dict(self) -> dict:
        return {"records_read": self.records_read, "examples_kept": self.examples_kept,
                "skipped": dict(self.skipped), "truncated": self.truncated,
                "no_labelled_token": self.no_labelled_token, "repeated": self.repeated,
                "not_one_call": self.not_one_call, "sources": self.sources, "unread": dict(self.unread)}
