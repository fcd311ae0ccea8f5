"""Data preparation throughput: tune vs TRL, same records, same tokenizer, same run.

tune: read file -> alpaca adapter -> chatml template -> one-call tokenisation with offsets -> labels.
TRL:  datasets.load_dataset("json") -> prompt/completion messages -> SFTTrainer's dataset
      preparation (chat template + tokenisation + completion mask), as a user would set it up.
Two tokenizers: the tiny default, and Qwen2's real 151k byte-level BPE (fetched as the tests fetch it;
it refuses without it). Prints records/s for each and `ratio_vs_trl[TOKENIZER]=X.XX` (tune speed / TRL speed; >1 means
tune is faster).

    python benchmarks/data_throughput.py [--records 50000]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def make_records(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    words = "the model learns to answer questions about data and code with care 模型 学习 回答 问题".split()
    def sentence(k):
        return " ".join(rng.choice(words) for _ in range(k))
    return [
        {
            "instruction": sentence(rng.randint(5, 30)),
            "input": sentence(rng.randint(0, 20)) if rng.random() < 0.4 else "",
            "output": sentence(rng.randint(10, 120)),
        }
        for _ in range(n)
    ]


def run_tune(path: str, tokenizer) -> tuple[float, int]:
    from tune.data.config import DataConfig
    from tune.data.dataset import build_dataset
    from tune.data.templates import get_template

    cfg = DataConfig(path=path, format="alpaca", max_length=1024)
    t = time.perf_counter()
    ds, _ = build_dataset(cfg, tokenizer, get_template("chatml", tokenizer))
    return time.perf_counter() - t, len(ds)


def run_trl(path: str, model_dir: str, tokenizer) -> tuple[float, int]:
    import datasets
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    out = tempfile.mkdtemp()
    t = time.perf_counter()
    raw = datasets.load_dataset("json", data_files=path, split="train")

    def to_messages(r):
        user = r["instruction"] + ("\n\n" + r["input"] if r["input"] else "")
        return {
            "prompt": [{"role": "user", "content": user}],
            "completion": [{"role": "assistant", "content": r["output"]}],
        }

    ds = raw.map(to_messages, remove_columns=raw.column_names)
    args = SFTConfig(output_dir=out, max_length=1024, report_to=[], use_cpu=True, dataset_num_proc=None)
    trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tokenizer)
    n = len(trainer.train_dataset)
    return time.perf_counter() - t, n


def real_tokenizer(name: str):
    """A real tokenizer (fetched as the tests fetch it) with the chatml template as its chat_template (for TRL)."""
    from transformers import AutoTokenizer

    from train_throughput import real_tokenizer_dir
    from tune.data.templates import get_template, to_jinja

    tok = AutoTokenizer.from_pretrained(real_tokenizer_dir(name))
    tok.chat_template = to_jinja(get_template("chatml", tok))
    return tok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    args = parser.parse_args()
    import datasets
    from transformers import AutoTokenizer
    from tune.models.tiny import tiny_model_dir

    datasets.disable_caching()
    datasets.disable_progress_bars()
    model_dir = tiny_model_dir()
    print(f"records={args.records}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "alpaca_like.json")
        with open(path, "w", encoding="utf-8") as f:
            for r in make_records(args.records):
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        cases = [("tiny", AutoTokenizer.from_pretrained(model_dir)), ("qwen2", real_tokenizer("qwen2"))]
        for name, tokenizer in cases:
            t_tune, n_tune = run_tune(path, tokenizer)
            t_trl, n_trl = run_trl(path, model_dir, tokenizer)
            print(f"[{name}] tune: {n_tune} examples in {t_tune:.1f}s = {n_tune / t_tune:,.0f} records/s")
            print(f"[{name}] trl:  {n_trl} examples in {t_trl:.1f}s = {n_trl / t_trl:,.0f} records/s")
            print(f"ratio_vs_trl[{name}]={(n_tune / t_tune) / (n_trl / t_trl):.2f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
