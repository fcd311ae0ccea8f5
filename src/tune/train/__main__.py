"""`python -m tune.train <overrides>` and `accelerate launch ... -m tune.train <overrides>`."""
import sys

from ..config_help import describe, split_flags
from ..errors import debug_requested, exit_status
from .run import train_job

_overrides, _help, _print = split_flags(sys.argv[1:])
if _help or _print:
    sys.exit(exit_status(lambda: describe("train", _overrides, _help), debug_requested(_overrides)))
sys.exit(exit_status(lambda: train_job(sys.argv[1:]), debug_requested(sys.argv[1:])))
