"""`tune <command> <hydra overrides>`: the command-line entry point (also `python -m tune`)."""
from __future__ import annotations

import os
import sys
import traceback

from .errors import TuneError

USAGE = """usage: tune <command> [recipe=NAME] [group=option] [key=value ...]

commands:
  preview   tokenise a dataset with a template and show input_ids/labels (JSONL or text)
  train     fine-tune (same as: python -m tune.train ...)
  export    merge an adapter into its base and save a standalone model (checkpoint=DIR out=DIR)
  chat      chat with a trained model using its training template (checkpoint=DIR)
  generate  batch generation from a JSONL file (checkpoint=DIR input=FILE out=FILE)
  eval      loss, perplexity, ROUGE and BLEU on a dataset (checkpoint=DIR data.path=FILE)
  recipes   list the recipes

examples:
  tune preview data.path=data.json data.format=alpaca template=alpaca data.max_length=512
  tune train recipe=demo
"""


def _commands() -> dict:
    from . import commands
    return commands.COMMANDS


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, overrides = argv[0], argv[1:]
    debug = any(o in ("debug=true", "debug=True", "+debug=true") for o in overrides) or os.environ.get("TUNE_DEBUG")
    commands = _commands()
    if command not in commands:
        print(f"tune: unknown command {command!r} (valid: {', '.join(sorted(commands))})", file=sys.stderr)
        return 2
    try:
        return commands[command](overrides) or 0
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


if __name__ == "__main__":
    sys.exit(main())
