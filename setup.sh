#!/usr/bin/env bash
# Make .venv and install tune into it (editable) at the tested versions (constraints.txt): `./setup.sh` installs
# what the main job uses, `./setup.sh test` adds every extra and the test tools. A second run costs seconds: it
# skips the install while pyproject.toml, constraints.txt and the torch pin are what was installed, with the
# extras asked for among those installed.
# torch==2.13.0 goes first: a bare `torch` would pull a multi-GB CUDA build on a CPU machine.
set -euo pipefail
cd "$(dirname "$0")"
TORCH="torch==2.13.0"
EXTRA="${1:-}"
STAMP=.venv/.tune-installed
want="$TORCH $(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ -x .venv/bin/tune ] && [ -f "$STAMP" ] && [ "$(head -1 "$STAMP")" = "$want" ] \
   && { [ -z "$EXTRA" ] || grep -qx "$EXTRA" "$STAMP"; }; then
  echo "setup: .venv already holds tune${EXTRA:+[$EXTRA]} and its tested dependencies (pyproject.toml, constraints.txt)"
  exit 0
fi
python3 -m venv .venv
.venv/bin/pip install "$TORCH"
DS_BUILD_OPS=0 .venv/bin/pip install -c constraints.txt -e ".${EXTRA:+[$EXTRA]}"
installed=""
if [ -f "$STAMP" ] && [ "$(head -1 "$STAMP")" = "$want" ]; then installed="$(tail -n +2 "$STAMP")"; fi
{ echo "$want"; printf '%s\n' $installed $EXTRA | grep -v '^$' | sort -u || true; } > "$STAMP.new"
mv "$STAMP.new" "$STAMP"
