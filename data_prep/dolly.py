"""databricks-dolly-15k to alpaca records, the context folded into the input.

    python data_prep/dolly.py --in RAW --out OUT.jsonl
"""
import sys

from tune.prep import dolly
from tune.prep.report import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(dolly.__doc__, dolly.add_args, dolly.convert))
