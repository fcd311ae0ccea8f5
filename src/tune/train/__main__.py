"""`python -m tune.train <overrides>` and `accelerate launch ... -m tune.train <overrides>`: `tune train`."""
import sys

from ..cli import main

sys.exit(main(["train", *sys.argv[1:]]))
