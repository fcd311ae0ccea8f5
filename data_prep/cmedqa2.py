"""Join cMedQA2's question.csv and answer.csv (zipped or not, UTF-8 or GB18030) into Q/A records.

    python data_prep/cmedqa2.py --in RAW --out OUT.jsonl
"""
import sys

from tune.prep import cmedqa2
from tune.prep.report import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(cmedqa2.__doc__, cmedqa2.add_args, cmedqa2.convert))
