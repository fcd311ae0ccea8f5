"""`tune <command> <hydra overrides>`: the command-line entry point (also `python -m tune`)."""
from __future__ import annotations

import sys

from .errors import debug_requested, exit_status

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
    commands = _commands()
    if command not in commands:
        print(f"tune: unknown command {command!r} (valid: {', '.join(sorted(commands))})", file=sys.stderr)
        return 2
    return exit_status(lambda: commands[command](overrides), debug_requested(overrides))


if __name__ == "__main__":
    sys.exit(main())
