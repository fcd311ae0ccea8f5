"""Data preparation at ShareGPT's scale, whole processes: tune (empty cache), tune again (cached), TRL.

70,000 ShareGPT-like conversations (1-5 rounds, log-normal lengths; benchmarks/train_throughput.py makes
them) -> chatml -> input_ids + labels on assistant turns, with Qwen2's real 151k tokenizer (fetched once per
machine as the tests fetch it, tests/real_tokenizers.py; the benchmark refuses without it, never falling back
to a tiny vocabulary). Each system runs in its own process, timed from launch to exit (imports, tokenizer and
model loading included), memory the process's peak RSS:
  tune: `tune preview preview.limit=0` (reads, renders, tokenises, labels and caches every conversation, what
        `tune train` does before its first step, without loading the model);
  TRL:  datasets.load_dataset("json") -> messages -> SFTTrainer construction with assistant_only_loss (chatml
        with generation marks), as a user would set it up (its model: a small random Llama with the same
        tokenizer).

Prints per system: seconds, conversations/s, peak RSS; then `ratio_vs_trl=X.XX` (TRL's time / tune's, empty
cache) and `cached_speedup=X.X` (tune's time / tune's cached time). `--profile` runs tune's preparation once
more under cProfile and prints where its time goes.

    python benchmarks/data_scale.py [--conversations 70000] [--profile]
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


def tune_args(a) -> list[str]:
    return ["preview", f"model.name_or_path={a.model}", f"data.path={a.data}", "data.format=sharegpt",
            "data.max_length=2048", "template=chatml", "preview.limit=0"]


def run_tune(a) -> int:
    from tune.cli import main

    return main(tune_args(a))


def profile_tune(a) -> None:
    """tune's preparation alone (the tokenizer loaded first), under cProfile: the 25 largest cumulative times."""
    import cProfile
    import pstats

    from transformers import AutoTokenizer

    from tune import compose
    from tune.data.prepare import prepare
    from tune.data.templates import get_template

    tok = AutoTokenizer.from_pretrained(a.model)
    cfg = compose(None, [f"data.path={a.data}", "data.format=sharegpt", "data.max_length=2048", "template=chatml"])
    renderer = get_template("chatml", tok)
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.runcall(prepare, cfg.data, tok, renderer)
    print(f"preparation alone, under the profiler: {time.perf_counter() - t:.1f} s")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


def run_trl(a) -> int:
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tok = AutoTokenizer.from_pretrained(a.model)
    tok.chat_template = CHATML_GENERATION
    model = AutoModelForCausalLM.from_pretrained(a.model)
    role = {"human": "user", "gpt": "assistant"}
    raw = datasets.load_dataset("json", data_files=a.data, split="train")
    ds = raw.map(lambda r: {"messages": [{"role": role[x["from"]], "content": x["value"]} for x in r["conversations"]]},
                 remove_columns=raw.column_names)
    args = SFTConfig(output_dir=tempfile.mkdtemp(), max_length=2048, report_to=[], use_cpu=True,
                     assistant_only_loss=True, dataset_num_proc=None)
    trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok)
    print(f"{len(trainer.train_dataset)} examples", file=sys.stderr)
    return 0


SYSTEMS = {"tune": run_tune, "tune_cached": run_tune, "trl": run_trl}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=70_000)
    parser.add_argument("--profile", action="store_true", help="profile tune's preparation afterwards")
    parser.add_argument("--system", choices=[*SYSTEMS, "profile"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.system == "profile":
        return profile_tune(a)
    if a.system:
        rc = SYSTEMS[a.system](a)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print("RESULT " + json.dumps({"peak_rss_mb": rss}))
        sys.exit(rc)
    tmp = tempfile.mkdtemp()
    data = os.path.join(tmp, "sharegpt_like.json")
    sharegpt_like(data, n=a.conversations)
    model = qwen2_small(os.path.join(tmp, "qwen2_small"))
    env = dict(os.environ, TUNE_DATASETS_CACHE=os.path.join(tmp, "cache"), HF_DATASETS_CACHE=os.path.join(tmp, "hf"))
    results = {}
    for name in SYSTEMS:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--system", name, "--model", model, "--data", data],
                              capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - start
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            print(f"{name}: failed\n{proc.stderr[-3000:]}")
            sys.exit(1)
        results[name] = {"seconds": seconds, **json.loads(line[-1][7:])}
    print(f"conversations={a.conversations} tokenizer=qwen2 (151,646 tokens); whole processes, launch to exit")
    for name, r in results.items():
        print(f"{name:12s} {r['seconds']:8.2f} s   {a.conversations / r['seconds']:9,.0f} conversations/s   "
              f"peak RSS {r['peak_rss_mb']:7.0f} MB")
    print(f"ratio_vs_trl={results['trl']['seconds'] / results['tune']['seconds']:.2f}")
    print(f"cached_speedup={results['tune']['seconds'] / results['tune_cached']['seconds']:.1f}")
    if a.profile:
        subprocess.run([sys.executable, __file__, "--system", "profile", "--model", model, "--data", data],
                       env=dict(env, TUNE_DATASETS_CACHE=os.path.join(tmp, "cache-profile")))


if __name__ == "__main__":
    main()
