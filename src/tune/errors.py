"""Errors users see: each carries one line saying what went wrong, where, and what to do, and the one place
that turns them into what a command prints and its exit status."""
from __future__ import annotations

import os
import sys
import traceback


class TuneError(Exception):
    """Base of tune's user-facing errors; ``str(err)`` is the one line the CLI prints."""


class DataError(TuneError):
    """Bad input data: ``FILE:LINE: field: reason``."""

    def __init__(self, reason: str, *, source: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.reason, self.source, self.line, self.field = reason, source, line, field
        where = f"{source}:{line}: " if source and line else (f"{source}: " if source else "")
        what = f"{field}: " if field else ""
        super().__init__(f"{where}{what}{reason}")


class ConfigError(TuneError):
    """Bad configuration: names the key and the valid choices."""


def exit_status(run, debug: bool) -> int:
    """Call ``run()``: its status, or 2 with one ``tune:`` line for a TuneError, 130 on Ctrl-C, and 1 with one
    line for anything else (a bug in tune; ``debug`` shows the traceback)."""
    try:
        return run() or 0
    except TuneError as err:
        if debug:
            traceback.print_exc()
        print(f"tune: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # unexpected: one line unless debug
        if debug:
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        print(f"tune: {type(err).__name__}: {first} (run with debug=true for the traceback)", file=sys.stderr)
        return 1


def debug_requested(overrides: list[str]) -> bool:
    return any(o in ("debug=true", "debug=True", "+debug=true") for o in overrides) or bool(
        os.environ.get("TUNE_DEBUG")
    )
