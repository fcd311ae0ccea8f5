"""Where tune's own files live (its cache, its config groups, its bundled assets) and the one way it publishes a
folder: built under a temporary name beside the target, then renamed, so a reader (another rank, a later run,
a user's loader) sees the whole folder or none of it, whatever kills the process meanwhile.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Callable, Iterator

PACKAGE = os.path.dirname(os.path.abspath(__file__))


def cache_dir() -> str:
    """$TUNE_CACHE, default ~/.cache/tune: the tiny model, dequantised GGUF folders, tokenised datasets, the
    measured CPU peak."""
    return os.environ.get("TUNE_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "tune"))


def config_dir() -> str:
    """The Hydra config groups shipped inside the package (configs/GROUP/OPTION.yaml)."""
    return os.path.join(PACKAGE, "configs")


def config_file(group: str, option: str) -> str:
    return os.path.join(config_dir(), group, f"{option}.yaml")


def asset_path(rel: str) -> str:
    """Absolute path of a file bundled in tune/assets (``${tune_asset:demo/alpaca_demo.json}`` in YAML)."""
    return os.path.join(PACKAGE, "assets", rel)


def publish_dir(tmp: str, final: str, keep_existing: Callable[[str], bool] | None = None) -> None:
    """Move the fully written folder ``tmp`` to ``final``.

    Without ``keep_existing`` an existing ``final`` is replaced: it is first renamed to ``final.old`` (removed
    once the new one is in place), so a reader sees the old folder or the new one, never half; a save cut short
    between the two renames leaves both names for a reader to recover (rundir.RunDir.recover_final_dir).
    With ``keep_existing`` (a cache entry any process may build, identical whoever builds it) a ``final`` that
    passes the check is kept and ``tmp`` dropped; one that fails it (an earlier build cut short) is replaced."""
    if keep_existing is not None:
        if os.path.isdir(final) and not keep_existing(final):
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.rename(tmp, final)
        except OSError:  # another process finished first: theirs is identical
            shutil.rmtree(tmp, ignore_errors=True)
        return
    if os.path.exists(final):
        old = final + ".old"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


@contextmanager
def atomic_dir(final: str, keep_existing: Callable[[str], bool] | None = None) -> Iterator[str]:
    """``with atomic_dir(final) as tmp:`` write into ``tmp`` (a fresh folder beside ``final``); on a clean exit
    it becomes ``final`` (publish_dir), on an error it is removed and ``final`` is left as it was."""
    parent = os.path.dirname(os.path.abspath(final))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.normpath(final))}.", suffix=".tmp", dir=parent)
    try:
        yield tmp
        publish_dir(tmp, final, keep_existing)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
