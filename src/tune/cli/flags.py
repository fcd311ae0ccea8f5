"""The flags every command takes besides its overrides: ``--help`` (the fields it reads, config/help.py) and
``--print-config`` (the resolved config); both compose only (the config is checked as a run would check it) and
load nothing."""
from __future__ import annotations

from ..config.help import command_help, print_config

HELP_FLAGS = ("-h", "--help")
PRINT_FLAGS = ("--print-config",)


def split_flags(argv: list[str]) -> tuple[list[str], bool, bool]:
    """(overrides, help wanted, print-config wanted); Hydra's own `--cfg job` is a print-config too."""
    out, want_help, want_print, skip = [], False, False, False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if a in HELP_FLAGS:
            want_help = True
        elif a in PRINT_FLAGS:
            want_print = True
        elif a == "--cfg":
            want_print, skip = True, True
        elif a.startswith("--cfg="):
            want_print = True
        else:
            out.append(a)
    return out, want_help, want_print


def describe(command, overrides: list[str], want_help: bool) -> int:
    """--help / --print-config for ``command`` (a cli.commands.Command), composed as the command itself composes
    (a template= that a command serving a trained model would refuse is refused here too)."""
    from .commands import compose_cli

    cfg = compose_cli(overrides, command.name)
    print(command_help(command.name, command.reads, cfg) if want_help else print_config(cfg))
    return 0
