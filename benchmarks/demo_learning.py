"""The README's main job, measured: `tune train recipe=demo` on the embedded tiny model (random init) and the
bundled demo data, then every training question asked greedily with the training template. Prints the share of
questions answered exactly, the README's own question and its answer, and the training time (train_runtime:
the one-time tiny-model build, model loading and data preparation are reported apart).

Target (issue: a newcomer's first hour): at least 90% exact after at most 60 s of training, on 100+ records.

    python benchmarks/demo_learning.py [--overrides key=value ...]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tune_process import logged_rows, tune_train  # noqa: E402
README_QUESTION = "What colour is snow?"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--overrides", nargs="*", default=[])
    a = ap.parse_args()
    from tune.models.tiny import tiny_model_dir

    start = time.perf_counter()
    tiny_model_dir()  # built once per machine: not training time
    build = time.perf_counter() - start
    out = os.path.join(tempfile.mkdtemp(prefix="tune-demo-"), "run")
    _, wall = tune_train(["recipe=demo", f"trainer.output_dir={out}", *a.overrides])
    rows = logged_rows(out)
    runtime = next(row["train_runtime"] for row in reversed(rows) if "train_runtime" in row)

    from tune import compose
    from tune.data.dataset import load_conversations, sources_of
    from tune.data.conversation import Conversation
    from tune.infer.generation import generate_replies
    from tune.infer.load import load_trained

    trained = load_trained(out)
    records, _ = load_conversations(sources_of(compose("demo").data)[0])
    questions, answers = [], []
    for row in records:
        messages = row["messages"]
        questions.append(Conversation.from_dicts(messages[:-1]))
        answers.append(messages[-1]["content"])
    replies = []
    for k in range(0, len(questions), 32):
        replies += generate_replies(trained.model, trained.tokenizer, trained.renderer, questions[k:k + 32], 48)
    exact = sum(reply == answer for reply, answer in zip(replies, answers))
    readme = generate_replies(trained.model, trained.tokenizer, trained.renderer,
                              [Conversation.from_dicts([{"role": "user", "content": README_QUESTION}])], 48)[0]
    misses = [(q.messages[-1].content, reply, answer) for q, reply, answer in zip(questions, replies, answers)
              if reply != answer]
    for question, reply, answer in misses[:10]:
        print(f"  miss: {question!r}: {reply!r} (trained on {answer!r})")
    print(f"records {len(records)}, exact {exact}/{len(records)} ({100 * exact / len(records):.1f}%)")
    print(f"README question {README_QUESTION!r}: {readme!r}")
    print(f"train_runtime {runtime:.1f} s (whole `tune train` {wall:.1f} s; tiny model build {build:.1f} s, once)")
    print(f"exact_share={exact / len(records):.3f} train_runtime_s={runtime:.1f}")


if __name__ == "__main__":
    main()
