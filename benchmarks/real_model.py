"""Learning that shows, on a real pretrained model: LoRA on SmolLM2-135M-Instruct learns a dozen invented facts
(recipe=facts: src/tune/assets/facts, data_prep/make_facts_data.py), then is asked paraphrases it never saw and
general questions it answered before training. tune against TRL's SFTTrainer given the same rows, epochs, batch,
learning rate, schedule and LoRA settings, fp32 (bf16=False), no activation checkpointing, loss on the answers
only (prompt-completion rows), the model's own chat template.

Each training runs in its own process, timed from launch to the saved adapter (imports and model loading
included); each trained adapter is then asked the same questions in the same way (plain transformers + peft,
greedy, the model's own template), so the scoring is identical. A reply is right when it contains the expected
word.

    python benchmarks/real_model.py [--model PATH]   (default: SmolLM2 from the package registry, tests/smollm2.py)

Prints held-out accuracy, general answers kept and wall time per system, then `heldout_vs_trl=`,
`general_kept=` and `time_vs_trl=`.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FACTS = os.path.join(REPO, "src", "tune", "assets", "facts")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def recipe() -> dict:
    """The facts recipe's settings, read from its YAML so both systems get exactly them."""
    sys.path.insert(0, os.path.join(REPO, "src"))
    from tune import compose

    cfg = compose("facts", [])
    return {
        "lr": cfg.trainer.learning_rate,
        "epochs": cfg.trainer.num_train_epochs,
        "batch": cfg.trainer.per_device_train_batch_size,
        "warmup_ratio": cfg.trainer.warmup_ratio,
        "scheduler": cfg.trainer.lr_scheduler_type,
        "r": cfg.method.r,
        "alpha": cfg.method.alpha,
        "dropout": cfg.method.dropout,
        "targets": list(cfg.method.target_modules),
        "max_length": cfg.data.max_length,
        "seed": cfg.trainer.seed,
    }


def train_tune(model: str, out: str) -> str:
    tune = os.path.join(os.path.dirname(sys.executable), "tune")
    subprocess.run(
        [
            tune,
            "train",
            "recipe=facts",
            f"model.name_or_path={model}",
            f"trainer.output_dir={out}",
            "trainer.report_to=[]",
        ],
        check=True,
    )
    return os.path.join(out, "model")


def train_trl(model: str, out: str) -> str:
    """The child process: TRL SFTTrainer on the same rows as conversational prompt-completion pairs."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    r = recipe()
    rows = json.load(open(os.path.join(FACTS, "train.json"), encoding="utf-8"))
    data = Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": x["instruction"]}],
                "completion": [{"role": "assistant", "content": x["output"]}],
            }
            for x in rows
        ]
    )
    tok = AutoTokenizer.from_pretrained(model)
    lm = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32)
    targets = "all-linear" if r["targets"] == ["all-linear"] else r["targets"]
    args = SFTConfig(
        output_dir=out,
        learning_rate=r["lr"],
        num_train_epochs=r["epochs"],
        per_device_train_batch_size=r["batch"],
        lr_scheduler_type=r["scheduler"],
        warmup_steps=r["warmup_ratio"],
        bf16=False,
        fp16=False,
        gradient_checkpointing=False,
        max_length=r["max_length"],
        completion_only_loss=True,
        report_to=[],
        save_strategy="no",
        logging_steps=5,
        seed=r["seed"],
        use_cpu=True,
    )
    trainer = SFTTrainer(
        model=lm,
        args=args,
        train_dataset=data,
        processing_class=tok,
        peft_config=LoraConfig(
            r=r["r"], lora_alpha=r["alpha"], lora_dropout=r["dropout"], target_modules=targets, task_type="CAUSAL_LM"
        ),
    )
    trainer.train()
    trainer.save_model(os.path.join(out, "adapter"))
    tok.save_pretrained(os.path.join(out, "adapter"))
    return os.path.join(out, "adapter")


def ask(base: str, adapter: str | None, out: str) -> None:
    """The child process: greedy replies to every evaluation question, the model's own template."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    model.eval()
    stop = [tok.convert_tokens_to_ids("<|im_end|>"), tok.eos_token_id]
    rows = json.load(open(os.path.join(FACTS, "eval.json"), encoding="utf-8"))
    for row in rows:
        ids = tok.apply_chat_template(
            [{"role": "user", "content": row["question"]}],
            add_generation_prompt=True,
            return_dict=True,
            return_tensors="pt",
        )
        with torch.no_grad():
            gen = model.generate(
                **ids, max_new_tokens=40, do_sample=False, eos_token_id=stop, pad_token_id=tok.pad_token_id
            )
        row["reply"] = tok.decode(gen[0, ids["input_ids"].shape[1] :], skip_special_tokens=True).strip()
        row["right"] = row["expect"].lower() in row["reply"].lower()
    json.dump(rows, open(out, "w", encoding="utf-8"), indent=1, ensure_ascii=False)


def child(*args: str) -> None:
    subprocess.run([sys.executable, os.path.abspath(__file__), *args], check=True)


def score(path: str) -> dict:
    rows = json.load(open(path, encoding="utf-8"))
    held = [r for r in rows if r["kind"] == "heldout"]
    general = [r for r in rows if r["kind"] == "general"]
    return {
        "heldout": sum(r["right"] for r in held) / len(held),
        "general": [r["right"] for r in general],
        "rows": rows,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="a Hugging Face folder (default: SmolLM2-135M-Instruct from the registry)")
    p.add_argument("--work", help="folder for the runs (default: a temporary one)")
    p.add_argument("--systems", nargs="+", default=["tune", "trl"], choices=["tune", "trl"])
    a = p.parse_args()
    if a.model is None:
        sys.path.insert(0, REPO)
        from tests.smollm2 import smollm2_folder

        a.model = smollm2_folder()
    work = a.work or tempfile.mkdtemp(prefix="real_model-")
    os.makedirs(work, exist_ok=True)
    print(f"model {a.model}; recipe {recipe()}; threads {os.environ.get('OMP_NUM_THREADS', 'default')}", flush=True)
    child("--ask", a.model, "", os.path.join(work, "base.json"))
    base = score(os.path.join(work, "base.json"))
    results = {}
    for name in a.systems:
        out = os.path.join(work, name)
        start = time.perf_counter()
        if name == "tune":
            train_tune(a.model, out)
        else:
            child("--train-trl", a.model, out)
        seconds = time.perf_counter() - start
        adapter = os.path.join(out, "model" if name == "tune" else "adapter")
        child("--ask", a.model, adapter, os.path.join(work, f"{name}.json"))
        results[name] = {**score(os.path.join(work, f"{name}.json")), "seconds": seconds}
    print(
        f"\nbase model: general answers right {sum(base['general'])}/{len(base['general'])}, "
        f"held-out facts {base['heldout']:.0%}"
    )
    print(f"{'system':8} {'held-out':>9} {'general kept':>13} {'wall s':>8}")
    for name, r in results.items():
        kept = sum(1 for b, x in zip(base["general"], r["general"]) if b and x)
        kept_of = f"{kept}/{sum(base['general'])}"
        print(f"{name:8} {r['heldout']:>9.0%} {kept_of:>13} {r['seconds']:>8.1f}")
    for name, r in results.items():
        for row in r["rows"]:
            if not row["right"]:
                print(f"  {name} missed: {row['question']!r} -> {row['reply']!r}")
    if len(results) < 2:
        return
    t, trl = results["tune"], results["trl"]
    kept = all(x for b, x in zip(base["general"], t["general"]) if b)
    print(
        f"heldout_vs_trl={t['heldout']:.2f}/{trl['heldout']:.2f} general_kept={kept} "
        f"time_vs_trl={t['seconds'] / trl['seconds']:.2f}"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--train-trl":
        train_trl(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "--ask":
        ask(sys.argv[2], sys.argv[3] or None, sys.argv[4])
    else:
        main()
