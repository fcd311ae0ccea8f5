"""GPU training throughput: tune vs TRL on a TinyLlama-shaped 1.1B Llama (random bf16 weights) with LLaMA-2's
real tokenizer (llama-spm, fetched as tests/real_tokenizers.py does: on a machine without the package registry,
set TUNE_TEST_MODELS to a copy of that cache), ShareGPT-like conversations, one GPU, each run in its own process;
sized to finish in under 8 minutes on an H100-class GPU.

Configurations, each as tune and as TRL (defaults, same data/model/max length/batch/steps):
  lora         LoRA r=16 on q/k/v/o, padded batches (tune: length-grouped; TRL: its default order)
  lora_packed  the same with packing (tune data.packing=true with position_ids; TRL packing=True, its default BFD)
  lora_ckpt    LoRA with gradient checkpointing
  qlora        4-bit nf4 base, LoRA on top
  full         full fine-tuning
Prints per run: trained tokens/s, padding fraction, torch.cuda.max_memory_allocated, MFU (tune's count
against the GPU's dense bf16 peak), final loss; then `ratio_vs_trl[CONFIG]=X.XX` and memory ratios.

    python benchmarks/gpu_throughput.py [--steps 20] [--max-length 1024] [--batch 8] [--only lora full]
    python benchmarks/gpu_throughput.py --dry-run   # the same code on a 2-layer model, on CPU, in a minute
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from train_throughput import CHATML_GENERATION, LORA, CountingCollator, _records, random_llama, sharegpt_like  # noqa: E402

TINYLLAMA = dict(hidden_size=2048, num_hidden_layers=22, num_attention_heads=32, num_key_value_heads=4,
                 intermediate_size=5632, max_position_embeddings=2048)
DRY = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=344)
CONFIGS = {
    "lora": dict(tune=["method=lora"], trl={}),
    "lora_packed": dict(tune=["method=lora", "data.packing=true"], trl={"packing": True}),
    "lora_ckpt": dict(
        tune=["method=lora", "trainer.gradient_checkpointing=true"], trl={"gradient_checkpointing": True}
    ),
    "qlora": dict(tune=["method=qlora"], trl={}, quantized=True),
    "full": dict(tune=["method=full", "trainer.learning_rate=2e-5"], trl={}, full=True),
}


def build_model(folder: str, shape: dict) -> str:
    """TinyLlama's shape (or the dry run's), random bf16 weights, LLaMA-2's real tokenizer."""
    import torch

    return random_llama(folder, "llama-spm", shape, dtype=torch.bfloat16)


def run_tune(a, c) -> dict:
    from tune_process import logged_rows

    from tune import compose, train

    lora = (
        []
        if c.get("full")
        else [
            f"method.r={LORA['r']}",
            f"method.alpha={LORA['alpha']}",
            f"method.target_modules=[{','.join(LORA['targets'])}]",
        ]
    )
    cfg = compose(
        None,
        [
            f"model.name_or_path={a.model}",
            f"data.path={a.data}",
            "data.format=sharegpt",
            f"data.max_length={a.max_length}",
            "template=chatml",
            "data.cache=false",
            *c["tune"],
            *lora,
            f"trainer.max_steps={a.steps}",
            f"trainer.per_device_train_batch_size={a.batch}",
            "trainer.logging_steps=1",
            "trainer.save_steps=100000",
            "trainer.report_to=[]",
            f"trainer.output_dir={tempfile.mkdtemp()}",
        ],
    )
    r = train(cfg)
    rows = logged_rows(r.output_dir)
    tokens = max(x.get("num_input_tokens_seen", 0) for x in rows)
    return {
        "tokens": tokens,
        "positions": tokens / (1 - r.metrics.get("padding_fraction", 0.0)),
        "seconds": r.metrics["train_runtime"],
        "loss": [x for x in rows if "loss" in x][-1]["loss"],
        "mfu": r.metrics.get("mfu"),
    }


def run_trl(a, c) -> dict:
    import datasets
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig
    from trl import SFTConfig, SFTTrainer

    tok = AutoTokenizer.from_pretrained(a.model)
    tok.chat_template = CHATML_GENERATION
    tok.pad_token = tok.pad_token or tok.eos_token
    a.data_kind = "sharegpt"
    kwargs = {}
    if c.get("quantized"):
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
        )
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16, **kwargs)
    lora = (
        None
        if c.get("full")
        else LoraConfig(
            task_type="CAUSAL_LM",
            r=LORA["r"],
            lora_alpha=LORA["alpha"],
            lora_dropout=LORA["dropout"],
            target_modules=LORA["targets"],
        )
    )
    args = SFTConfig(
        output_dir=tempfile.mkdtemp(),
        max_length=a.max_length,
        max_steps=a.steps,
        per_device_train_batch_size=a.batch,
        learning_rate=2e-5 if c.get("full") else 2e-4,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        assistant_only_loss=True,
        include_num_input_tokens_seen="non_padding",
        use_cpu=not torch.cuda.is_available(),
        bf16=torch.cuda.is_available(),
        **c["trl"],
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=datasets.Dataset.from_list(_records(a)),
        processing_class=tok,
        peft_config=lora,
    )
    trainer.data_collator = counter = CountingCollator(trainer.data_collator)
    trainer.train()
    hist = trainer.state.log_history
    tokens = trainer.state.num_input_tokens_seen  # the counter also saw the batch collated ahead
    return {
        "tokens": tokens,
        "positions": tokens * counter.positions / max(counter.real, 1),
        "seconds": [h["train_runtime"] for h in hist if "train_runtime" in h][-1],
        "loss": [h["loss"] for h in hist if "loss" in h][-1],
        "mfu": None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--only", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.child:
        system, config = a.child.split(":")
        res = (run_tune if system == "tune" else run_trl)(a, CONFIGS[config])
        import torch

        res["peak_mb"] = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else 0.0
        print("RESULT " + json.dumps(res))
        return
    tmp = tempfile.mkdtemp()
    data = os.path.join(tmp, "sharegpt_like.json")
    sharegpt_like(data, n=max(400, a.steps * a.batch))
    model = build_model(os.path.join(tmp, "model"), DRY if a.dry_run else TINYLLAMA)
    if a.dry_run:
        a.steps, a.max_length, a.batch, a.only = 2, 128, 2, [c for c in a.only if c != "qlora"]
    summary = []
    for config in a.only:
        results = {}
        for system in ("tune", "trl"):
            cmd = [
                sys.executable,
                __file__,
                "--child",
                f"{system}:{config}",
                "--model",
                model,
                "--data",
                data,
                "--steps",
                str(a.steps),
                "--max-length",
                str(a.max_length),
                "--batch",
                str(a.batch),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if proc.returncode or not line:
                print(f"[{config}] {system}: failed\n{proc.stderr[-2000:]}")
                continue
            results[system] = r = json.loads(line[-1][7:])
            mfu = f"{r['mfu']:.1%}" if r.get("mfu") is not None else "-"
            print(
                f"[{config}] {system:5s} trained tokens/s {r['tokens'] / r['seconds']:9.0f}   padding "
                f"{1 - r['tokens'] / max(r['positions'], 1):6.1%}   peak {r['peak_mb']:8.0f} MB   MFU {mfu}   "
                f"loss {r['loss']:.4f}"
            )
            sys.stdout.flush()
        if len(results) == 2:
            tps = {s: r["tokens"] / r["seconds"] for s, r in results.items()}
            summary.append(f"ratio_vs_trl[{config}]={tps['tune'] / tps['trl']:.2f}")
            if results["trl"]["peak_mb"]:
                summary.append(f"memory_vs_trl[{config}]={results['tune']['peak_mb'] / results['trl']['peak_mb']:.2f}")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
