"""`python -m tune.train <overrides>` and `accelerate launch ... -m tune.train <overrides>`."""
import sys

from ..errors import debug_requested, exit_status
from .run import train_job

sys.exit(exit_status(lambda: train_job(sys.argv[1:]), debug_requested(sys.argv[1:])))
