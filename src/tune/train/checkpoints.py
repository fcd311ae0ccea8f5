"""Finding checkpoints to resume from, and the atomic final save."""
from __future__ import annotations

import glob
import os
import re
import shutil

from ..errors import ConfigError
from .callbacks import COMPLETE_MARKER


def complete_checkpoints(output_dir: str) -> list[str]:
    """checkpoint-N folders that were finished (have the marker), oldest first."""
    found = []
    for path in glob.glob(os.path.join(output_dir, "checkpoint-*")):
        m = re.fullmatch(r"checkpoint-(\d+)", os.path.basename(path))
        if m and os.path.isfile(os.path.join(path, COMPLETE_MARKER)):
            found.append((int(m.group(1)), path))
    return [p for _, p in sorted(found)]


def check_resume(resume: str) -> str:
    """trainer.resume validated before anything loads: 'false', 'auto', or an existing checkpoint folder."""
    value = str(resume).strip().lower()
    if value in ("false", "none", "no", "0", ""):
        return "false"
    if value == "auto":
        return "auto"
    if not os.path.isdir(resume):
        raise ConfigError(f"trainer.resume: checkpoint folder {resume!r} not found (give auto, false or a folder)")
    return resume


def resolve_resume(resume: str, output_dir: str) -> str | None:
    """trainer.resume: false -> None; auto -> newest complete checkpoint (or None); PATH -> PATH."""
    value = check_resume(resume)
    if value == "false":
        return None
    if value == "auto":
        found = complete_checkpoints(output_dir)
        return found[-1] if found else None
    return value


def replace_dir_atomically(tmp: str, final: str) -> None:
    """Move a fully written tmp folder to final; a reader sees the old folder or the new one, never half."""
    if os.path.exists(final):
        old = final + ".old"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
