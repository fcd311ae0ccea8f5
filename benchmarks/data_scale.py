"""Data preparation at ShareGPT's scale, whole processes: tune (empty cache), tune again (cached), TRL.

70,000 ShareGPT-like conversations (1-5 rounds, log-normal lengths; benchmarks/train_throughput.py makes
them) -> chatml -> input_ids + labels on assistant turns, with Qwen2's real 151k tokenizer
(../shared/tokenizers/qwen2; the tiny default when absent). Each system runs in its own process; the time
is the preparation only (imports and model loading not counted), the memory the process's peak RSS.
TRL: datasets.load_dataset("json") -> messages -> SFTTrainer's dataset preparation with assistant_only_loss
(chatml with generation marks), as a user would set it up.

Prints per system: seconds, conversations/s, peak RSS; then `ratio_vs_trl=X.XX` (tune cold / TRL speed)
and `cached_speedup=X.X` (tune cold time / tune cached time).

    python benchmarks/data_scale.py [--conversations 70000]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from train_throughput import CHATML_GENERATION, qwen2_small, sharegpt_like  # noqa: E402


def run_tune(a) -> tuple[float, int]:
    from transformers import AutoTokenizer

    from tune import compose
    from tune.data.prepare import prepare
    from tune.data.templates import get_template

    tok = AutoTokenizer.from_pretrained(a.model)
    cfg = compose(None, [f"data.path={a.data}", "data.format=sharegpt", "data.max_length=2048", "template=chatml"])
    renderer = get_template("chatml", tok)
    t = time.perf_counter()
    data = prepare(cfg.data, tok, renderer)
    return time.perf_counter() - t, len(data.train)


def run_trl(a) -> tuple[float, int]:
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tok = AutoTokenizer.from_pretrained(a.model)
    tok.chat_template = CHATML_GENERATION
    model = AutoModelForCausalLM.from_pretrained(a.model)
    role = {"human": "user", "gpt": "assistant"}
    t = time.perf_counter()
    raw = datasets.load_dataset("json", data_files=a.data, split="train")
    ds = raw.map(lambda r: {"messages": [{"role": role[x["from"]], "content": x["value"]} for x in r["conversations"]]},
                 remove_columns=raw.column_names)
    args = SFTConfig(output_dir=tempfile.mkdtemp(), max_length=2048, report_to=[], use_cpu=True,
                     assistant_only_loss=True, dataset_num_proc=None)
    trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok)
    return time.perf_counter() - t, len(trainer.train_dataset)


SYSTEMS = {"tune": run_tune, "tune_cached": run_tune, "trl": run_trl}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=70_000)
    parser.add_argument("--system", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.system:
        import datasets
        datasets.disable_progress_bars()
        seconds, n = SYSTEMS[a.system](a)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print("RESULT " + json.dumps({"seconds": seconds, "examples": n, "peak_rss_mb": rss}))
        return
    tmp = tempfile.mkdtemp()
    data = os.path.join(tmp, "sharegpt_like.json")
    sharegpt_like(data, n=a.conversations)
    model = qwen2_small(os.path.join(tmp, "qwen2_small"))
    if model is None:
        from tune.models.tiny import tiny_model_dir
        model = tiny_model_dir()
    env = dict(os.environ, TUNE_DATASETS_CACHE=os.path.join(tmp, "cache"), HF_DATASETS_CACHE=os.path.join(tmp, "hf"))
    results = {}
    for name in SYSTEMS:
        proc = subprocess.run([sys.executable, __file__, "--system", name, "--model", model, "--data", data],
                              capture_output=True, text=True, env=env)
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            print(f"{name}: failed\n{proc.stderr[-3000:]}")
            sys.exit(1)
        results[name] = json.loads(line[-1][7:])
    print(f"conversations={a.conversations} tokenizer={os.path.basename(model)}")
    for name, r in results.items():
        print(f"{name:12s} {r['seconds']:8.2f} s   {a.conversations / r['seconds']:9,.0f} conversations/s   "
              f"examples {r['examples']}   peak RSS {r['peak_rss_mb']:7.0f} MB")
    print(f"ratio_vs_trl={results['trl']['seconds'] / results['tune']['seconds']:.2f}")
    print(f"cached_speedup={results['tune']['seconds'] / results['tune_cached']['seconds']:.1f}")


if __name__ == "__main__":
    main()
