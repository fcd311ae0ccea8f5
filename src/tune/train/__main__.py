"""`python -m tune.train <overrides>` and `accelerate launch ... -m tune.train <overrides>`."""
import sys

from ..config_help import describe, split_flags
from ..errors import debug_requested, exit_status
from ..noise import quiet_libraries


def _train(overrides):
    from ..config import compose_command_line

    cfg = compose_command_line(overrides)  # a config error is one line before torch/transformers load
    from ..data.dataset import check_sources

    check_sources(cfg.data)  # so is a missing data file
    from .run import train_job
    return train_job(cfg)


_overrides, _help, _print = split_flags(sys.argv[1:])
quiet_libraries(debug_requested(_overrides))
if _help or _print:
    sys.exit(exit_status(lambda: describe("train", _overrides, _help), debug_requested(_overrides)))
sys.exit(exit_status(lambda: _train(sys.argv[1:]), debug_requested(sys.argv[1:])))
