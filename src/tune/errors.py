"""Errors users see: each carries one line saying what went wrong, where, and what to do."""


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
