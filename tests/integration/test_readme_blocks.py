"""The code blocks README.md and recipes/*/README.md mark as running here (fence info `bash run-here` or
`python run-here`) run as a user runs them, in a fresh folder that sees the repository's files and its .venv,
and exit 0: a bash block gets no venv on its PATH unless it puts it there (`source .venv/bin/activate`, as the
README says), a python block runs with the venv's python. The two set-up commands at the top are not marked
(the second one runs these tests)."""
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
    venv = Path(sys.prefix)  # the venv running these tests: the one setup.sh made, where a user has it
    (tmp_path / ".venv").symlink_to(venv)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p).resolve() != (venv / "bin").resolve()]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(path)
    cmd = ["bash", "-euo", "pipefail", "-c", code] if lang == "bash" else [sys.executable, "-c", code]
    r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
