"""Clean ShareGPT dumps as FastChat did: HTML to markdown, drop broken, filter language, dedupe, split long.

    python data_prep/sharegpt.py --in RAW --out OUT.jsonl
"""
import sys

from tune.prep import sharegpt
from tune.prep.report import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(sharegpt.__doc__, sharegpt.add_args, sharegpt.convert))
