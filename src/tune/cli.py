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
  list      templates | formats | methods | recipes | datasets, a line each
  recipes   list the recipes (same as: tune list recipes)

  tune COMMAND --help         the command's fields, their values and what they do
  tune COMMAND ... --print-config   the resolved config, without loading anything (also: --cfg job)

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
        from .config import _did_you_mean

        print(f"tune: unknown command {command!r} ({_did_you_mean(command, sorted(commands))}valid: "
              f"{', '.join(sorted(commands))})", file=sys.stderr)
        return 2
    from .config_help import COMMAND_SECTIONS, describe, split_flags
    from .noise import quiet_libraries

    quiet_libraries(debug_requested(overrides))

    if command in COMMAND_SECTIONS:
        overrides, want_help, want_print = split_flags(overrides)
        if want_help or want_print:
            return exit_status(lambda: describe(command, overrides, want_help), debug_requested(overrides))
    return exit_status(lambda: commands[command](overrides), debug_requested(overrides))


if __name__ == "__main__":
    sys.exit(main())
