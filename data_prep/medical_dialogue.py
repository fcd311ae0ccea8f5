"""The GB18030 Chinese medical dialogue CSVs (department,title,ask,answer) to alpaca records.

    python data_prep/medical_dialogue.py --in RAW --out OUT.jsonl
"""
import sys

from tune.prep import medical_dialogue
from tune.prep.report import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(medical_dialogue.__doc__, medical_dialogue.add_args, medical_dialogue.convert))
