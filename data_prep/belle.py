"""Unpack BELLE's "Human:/Assistant:" multi-turn text into {"messages": [...]} records.

    python data_prep/belle.py --in RAW --out OUT.jsonl
"""
import sys

from tune.prep import belle
from tune.prep.report import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(belle.__doc__, belle.add_args, belle.convert))
