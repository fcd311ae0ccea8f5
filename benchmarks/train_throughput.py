"""Training throughput: tune vs TRL's SFTTrainer vs a plain HF Trainer padding to max length (the
alpaca-lora way), all in one run, each in its own process (so peak memory is its own).

Same model (a ~20M-parameter Llama built like the tiny default), same LoRA settings, same data (the
Alpaca sample), max length, effective batch and number of steps. tune runs as a user would run it for
speed: data.packing=true. TRL runs twice: with SFTConfig defaults for prompt/completion data, as a user
would (which on TRL 1.16 means gradient checkpointing on and bf16 autocast, even on CPU), and matched to
tune (checkpointing off, fp32). Prints trained (non-padding) tokens/s, peak RSS and final loss for each,
then `ratio_vs_trl_matched=X.XX` and, last, `ratio_vs_trl=X.XX` (tune / TRL-defaults tokens/s).

    python benchmarks/train_throughput.py [--steps 20] [--data FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, "..", "..", "shared", "data", "alpaca", "alpaca_en_demo.json")
SIZE = dict(hidden_size=512, num_layers=6, num_heads=8, num_kv_heads=8, intermediate_size=1376)
LORA = dict(r=16, alpha=32, dropout=0.05, targets=["q_proj", "k_proj", "v_proj", "o_proj"])


def model_dir() -> str:
    from tune.models.tiny import tiny_model_dir
    return tiny_model_dir(**SIZE, vocab_size=4096, seed=0)


def run_tune(a) -> dict:
    from tune import compose, train

    size = [f"model.tiny.{k}={v}" for k, v in SIZE.items()]
    cfg = compose(None, size + [
        f"data.path={a.data}", "data.format=alpaca", f"data.max_length={a.max_length}", "data.packing=true",
        "template=chatml", "method=lora", f"method.r={LORA['r']}", f"method.alpha={LORA['alpha']}",
        f"method.dropout={LORA['dropout']}", f"method.target_modules=[{','.join(LORA['targets'])}]",
        f"trainer.max_steps={a.steps}", f"trainer.per_device_train_batch_size={a.batch}",
        "trainer.learning_rate=2e-4", "trainer.logging_steps=1", "trainer.save_steps=100000",
        "trainer.report_to=[]", f"trainer.output_dir={tempfile.mkdtemp()}"])
    r = train(cfg)
    rows = [json.loads(line) for line in open(os.path.join(r.output_dir, "metrics.jsonl"))]
    last = [x for x in rows if "loss" in x][-1]
    tokens = max(x.get("num_input_tokens_seen", 0) for x in rows)
    return {"tokens": tokens, "seconds": r.metrics["train_runtime"], "loss": last["loss"]}


def _hf_args(a, out):
    return dict(output_dir=out, max_steps=a.steps, per_device_train_batch_size=a.batch, learning_rate=2e-4,
                logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
                include_num_input_tokens_seen="non_padding", lr_scheduler_type="cosine", seed=42)


def _lora(model):
    from peft import LoraConfig, get_peft_model
    return get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", r=LORA["r"], lora_alpha=LORA["alpha"],
                                            lora_dropout=LORA["dropout"], target_modules=LORA["targets"]))


def _records(a):
    return json.load(open(a.data, encoding="utf-8"))


def _user(r):
    return r["instruction"] + ("\n\n" + r["input"] if r["input"] else "")


def _result(trainer, out):
    hist = trainer.state.log_history
    loss = [h["loss"] for h in hist if "loss" in h][-1]
    runtime = [h["train_runtime"] for h in hist if "train_runtime" in h][-1]
    return {"tokens": trainer.state.num_input_tokens_seen, "seconds": runtime, "loss": loss}


def run_trl_matched(a) -> dict:
    return run_trl(a, gradient_checkpointing=False, bf16=False)


def run_trl(a, **overrides) -> dict:
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    path = model_dir()
    tok = AutoTokenizer.from_pretrained(path)
    ds = datasets.Dataset.from_list([{"prompt": [{"role": "user", "content": _user(r)}],
                                      "completion": [{"role": "assistant", "content": r["output"]}]} for r in _records(a)])
    out = tempfile.mkdtemp()
    args = SFTConfig(max_length=a.max_length, **_hf_args(a, out), **overrides)
    trainer = SFTTrainer(model=_lora(AutoModelForCausalLM.from_pretrained(path)), args=args, train_dataset=ds,
                         processing_class=tok)
    trainer.train()
    return _result(trainer, out)


def run_hf_padded(a) -> dict:
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments, default_data_collator

    path = model_dir()
    tok = AutoTokenizer.from_pretrained(path)

    def encode(r):  # alpaca-lora: prompt + answer as one text, padded to max length, prompt masked
        prompt = f"<|im_start|>user\n{_user(r)}<|im_end|>\n<|im_start|>assistant\n"
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        ids = tok(prompt + r["output"] + "<|im_end|>", add_special_tokens=False)["input_ids"][: a.max_length]
        n = len(ids)
        labels = [-100] * min(len(p_ids), n) + ids[len(p_ids):]
        pad = a.max_length - n
        return {"input_ids": ids + [tok.pad_token_id] * pad, "attention_mask": [1] * n + [0] * pad,
                "labels": labels + [-100] * pad}

    ds = datasets.Dataset.from_list([encode(r) for r in _records(a)])
    out = tempfile.mkdtemp()
    trainer = Trainer(model=_lora(AutoModelForCausalLM.from_pretrained(path)), args=TrainingArguments(**_hf_args(a, out)),
                      train_dataset=ds, data_collator=default_data_collator, processing_class=tok)
    trainer.train()
    return _result(trainer, out)


SYSTEMS = {"tune": run_tune, "trl": run_trl, "trl_matched": run_trl_matched, "hf_padded": run_hf_padded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--system", choices=SYSTEMS, help=argparse.SUPPRESS)  # child mode
    a = parser.parse_args()
    if not os.path.exists(a.data):
        a.data = os.path.join(HERE, "..", "src", "tune", "assets", "demo", "alpaca_demo.json")
    if a.system:
        res = SYSTEMS[a.system](a)
        res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print("RESULT " + json.dumps(res))
        return
    model_dir()  # build once, outside the timings
    results = {}
    for name in SYSTEMS:
        cmd = [sys.executable, __file__, "--system", name, "--steps", str(a.steps), "--batch", str(a.batch),
               "--max-length", str(a.max_length), "--data", a.data]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            print(f"{name}: failed\n{proc.stderr[-3000:]}")
            sys.exit(1)
        results[name] = json.loads(line[-1][7:])
    print(f"model ~20M params, LoRA r={LORA['r']}, max_length={a.max_length}, batch={a.batch}, steps={a.steps}, data={a.data}")
    for name, r in results.items():
        print(f"{name:12s} trained tokens/s {r['tokens'] / r['seconds']:8.0f}   tokens {r['tokens']:7d}   "
              f"peak RSS {r['peak_rss_mb']:7.0f} MB   final loss {r['loss']:.4f}")
    tps = {n: r["tokens"] / r["seconds"] for n, r in results.items()}
    print(f"ratio_vs_hf_padded={tps['tune'] / tps['hf_padded']:.2f}")
    print(f"ratio_vs_trl_matched={tps['tune'] / tps['trl_matched']:.2f}")
    print(f"ratio_vs_trl={tps['tune'] / tps['trl']:.2f}")


if __name__ == "__main__":
    main()
