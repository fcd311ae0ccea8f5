"""`tune <command> <hydra overrides>`: the command-line entry point (also `python -m tune`, and `python -m
tune.train` for the train command). The commands are cli/commands.py's registry."""
from __future__ import annotations

import sys

from ..errors import debug_requested, exit_status

EXAMPLES = """
  tune COMMAND --help         the command's fields, their values and what they do
  tune COMMAND ... --print-config   the resolved config, without loading anything (also: --cfg job)

examples:
  tune preview data.path=data.json data.format=alpaca template=alpaca data.max_length=512
  tune train recipe=demo
"""


def usage() -> str:
    from .commands import COMMANDS

    lines = [f"  {c.name.ljust(8)}  {c.summary}" for c in COMMANDS.values()]
    return "\n".join(["usage: tune <command> [recipe=NAME] [group=option] [key=value ...]", "", "commands:", *lines,
                      EXAMPLES])


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    from .commands import COMMANDS

    name, overrides = argv[0], argv[1:]
    if name not in COMMANDS:
        from ..config.explain import did_you_mean

        print(f"tune: unknown command {name!r} ({did_you_mean(name, sorted(COMMANDS))}valid: "
              f"{', '.join(sorted(COMMANDS))})", file=sys.stderr)
        return 2
    from .noise import quiet_libraries

    command = COMMANDS[name]
    debug = debug_requested(overrides)
    quiet_libraries(debug)
    if command.reads:
        from .flags import describe, split_flags

        overrides, want_help, want_print = split_flags(overrides)
        if want_help or want_print:
            return exit_status(lambda: describe(command, overrides, want_help), debug)
    return exit_status(lambda: command.run(overrides), debug)


if __name__ == "__main__":
    sys.exit(main())
