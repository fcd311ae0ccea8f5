"""`python -m tune.train <overrides>` and `accelerate launch ... -m tune.train <overrides>`."""
import sys

from ..config_help import split_flags
from ..errors import debug_requested, exit_status
from .run import train_job

_overrides, _help, _print = split_flags(sys.argv[1:])
if _help or _print:
    from ..config import compose_command_line
    from ..config_help import command_help, print_config

    def _describe() -> int:
        cfg = compose_command_line(_overrides)
        print(command_help("train", cfg) if _help else print_config(cfg))
        return 0

    sys.exit(exit_status(_describe, debug_requested(_overrides)))
sys.exit(exit_status(lambda: train_job(sys.argv[1:]), debug_requested(sys.argv[1:])))
