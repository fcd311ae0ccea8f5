"""The code blocks README.md and recipes/*/README.md mark as running here (fence info `bash run-here` or
`python run-here`) run as written, in a fresh folder that sees the repository's files, and exit 0. The two
set-up commands at the top are not marked (the second one runs these tests)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(bash|python) run-here\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks():
    found = []
    for doc in [REPO / "README.md", *sorted((REPO / "recipes").glob("*/README.md"))]:
        for i, m in enumerate(FENCE.finditer(doc.read_text(encoding="utf-8"))):
            found.append(pytest.param(m.group(1), m.group(2), id=f"{doc.relative_to(REPO)}#{i}"))
    return found


def test_the_readme_marks_blocks():
    assert len(blocks()) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("lang,code", blocks())
def test_block_runs_as_written(lang, code, tmp_path):
    for name in ("src", "configs", "recipes"):
        if (REPO / name).exists():
            (tmp_path / name).symlink_to(REPO / name)
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = ["bash", "-euo", "pipefail", "-c", code] if lang == "bash" else [sys.executable, "-c", code]
    r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
