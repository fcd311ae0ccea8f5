#!/usr/bin/env bash
# Make .venv and install tune into it (editable, with the test extra) at the tested versions (constraints.txt);
# a second run after a first one costs seconds: it skips the install while pyproject.toml, constraints.txt and
# the torch pin are what was installed.
# torch==2.13.0 goes first: a bare `torch` would pull a multi-GB CUDA build on a CPU machine.
set -euo pipefail
cd "$(dirname "$0")"
TORCH="torch==2.13.0"
STAMP=.venv/.tune-installed
want="$TORCH $(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ -x .venv/bin/tune ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "setup: .venv already holds tune and its tested dependencies (pyproject.toml, constraints.txt)"
  exit 0
fi
python3 -m venv .venv
.venv/bin/pip install "$TORCH"
DS_BUILD_OPS=0 .venv/bin/pip install -c constraints.txt -e ".[test]"
echo "$want" > "$STAMP"
