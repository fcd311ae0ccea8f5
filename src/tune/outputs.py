"""Where tune writes, checked before it writes: never over an input, never into a folder it did not make.

Every command that writes files calls these first, so a mistyped `preview.out=` or `out=` is refused with one
line instead of truncating the data or deleting what a folder held.
"""
from __future__ import annotations

import os

from .errors import ConfigError

from .rundir import EXPORT_MARKER  # noqa: F401  (in a folder `tune export` wrote, so a later export may replace it)


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_overwriting_inputs(out: str, inputs: list[str], key: str) -> None:
    """``out`` (a file about to be opened for writing) must not be one of the input files."""
    for path in inputs:
        if os.path.exists(out) and _same(out, path):
            raise ConfigError(f"{key}: {out!r} is also an input ({path}); writing it would destroy the input "
                              "(give another output file)")
    if os.path.isdir(out):
        raise ConfigError(f"{key}: {out!r} is a folder (give a file name)")


def check_replaceable_folder(out: str, key: str, marker: str, protected: list[str] = ()) -> None:
    """``out`` may be replaced only when it does not exist, is empty, or holds ``marker`` (tune wrote it); never
    when it is, or contains, one of ``protected`` (a run folder, the checkpoint being read)."""
    for path in protected:
        if os.path.exists(out) and os.path.exists(path):
            real_out, real_p = os.path.realpath(out), os.path.realpath(path)
            if real_p == real_out or real_p.startswith(real_out.rstrip(os.sep) + os.sep):
                raise ConfigError(f"{key}: {out!r} holds {path}, which this command reads; replacing it would delete "
                                  "the run (give a new folder)")
    if os.path.isfile(out):
        raise ConfigError(f"{key}: {out!r} is a file (give a folder)")
    if os.path.isdir(out) and os.listdir(out) and not os.path.exists(os.path.join(out, marker)):
        raise ConfigError(f"{key}: {out!r} is a folder with files tune did not write; tune will not replace it "
                          "(give a new or empty folder)")
