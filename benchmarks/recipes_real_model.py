"""Every seed recipe on a real pretrained model: SmolLM2-135M-Instruct (30 layers, tied embedding, chatml
tokenizer; tests/smollm2.py fetches it), a real data sample of the recipe's kind, and everything else as the
recipe says (its template, method and method fields, precision, checkpointing, and its DeepSpeed stage through
`accelerate launch --multi_gpu --num_processes 2` where it names one).

Scaled to this machine, and printed per recipe: STEPS optimiser steps of BATCH examples (split over the ranks; no
accumulation): an adapter (LoRA, P-Tuning) trains the recipe's own epochs over the records that fill them (at most
TRAIN), a full fine-tune one pass over STEPS x BATCH records (it overfits repeats of a small sample); HELD_OUT
records never trained on; data.max_length the recipe's own, raised in steps of 128 to the sample's median example
where the recipe's own would cut most examples, at most MAX_LENGTH (Chinese costs about two tokens a character on
SmolLM2's English-first tokenizer); warm-up at most a tenth of the steps; and the learning rate by one rule: the
recipe's own times LR_FACTOR, at most 2e-2 (a few dozen steps stand in for thousands; P-Tuning's 2e-2 stays).
chatglm_ptuning runs on SmolLM2 with model.trust_remote_code=false and the model's own template (ChatGLM's code and
its [gMASK]/sop tokens belong to ChatGLM); chinese_vicuna_medical continues from the alpaca_lora run's adapter, as
the original continued from Chinese-Vicuna's.

For each: held-out loss (labelled tokens only) of the base model (held as the run holds it: 4-bit for a method
with a quantised base) and of the trained one, answers to the first three held-out records that fit
data.max_length whole (so their reference answer ends within it; greedy, the recipe's template, at most
data.max_length new tokens; whether each stopped at the template's end of turn)
from both, wall time of the run and its peak memory (the largest process's, as tune reports it).

    python benchmarks/recipes_real_model.py [--recipes alpaca huatuo ...] [--json results.json]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(REPO, "src"), REPO, HERE]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from tune_process import TUNE_TRAIN, tune_train  # noqa: E402
DATA = os.path.join(REPO, "tests", "data")

STEPS, MIN_STEPS, BATCH, TRAIN, HELD_OUT, MAX_LENGTH = 48, 20, 8, 128, 12, 512
# an adapter trains the recipe's own epochs (a recipe given in steps: STEPS_RECIPE_EPOCHS) over the records that
# fill STEPS (at most TRAIN); a full fine-tune moves every weight and overfits repeats of a small sample (alpaca,
# 192 records, 2 epochs: held-out loss 6% lower at lr x 10 than before training, 10% at x 3), so it sees
# STEPS x BATCH records once; a sample too small for that repeats itself over MIN_STEPS (dolly's 10 records)
FULL_METHODS, STEPS_RECIPE_EPOCHS = ("full", "freeze"), 3
# the learning rate: a few dozen steps stand in for thousands, so the recipe's own is raised
LR_FACTOR, LR_CAP = 10, 2e-2
# recipe -> (sample, data.format, what it stands in for)
SAMPLES = {
    "alpaca": ("alpaca/alpaca_en_demo.json", "alpaca", "Alpaca 52K (English instructions)"),
    "alpaca_lora": ("alpaca/alpaca_en_demo.json", "alpaca", "Alpaca 52K (English instructions)"),
    "vicuna": ("sharegpt/dummy_conversation.json", "sharegpt", "ShareGPT 70K (multi-turn conversations)"),
    "huatuo": ("huatuo/llama_data.json", "huatuo", "Huatuo's 8K Chinese medical instructions (a real sample)"),
    "chatglm_ptuning": ("alpaca/alpaca_zh_demo.json", "alpaca", "ADGEN (Chinese generation; not here: Chinese "
                        "instructions instead)"),
    "belle": ("alpaca/alpaca_zh_demo.json", "alpaca", "BELLE 0.5M (Chinese instructions)"),
    "chinese_vicuna_medical": ("medical_dialogue/internal_medicine_sample.csv", "qa",
                               "cMedQA2 (patients' questions, doctors' answers; its sample here has ids only: Toyhom's "
                               "Chinese medical dialogues, the same kind, GB18030 CSV)"),
    "dolly": ("dolly/databricks-dolly-15k.first10.jsonl", "dolly", "databricks-dolly-15k (its first 10 records)"),
}
ENCODING = {"medical_dialogue/internal_medicine_sample.csv": "gb18030"}
# the eight seed recipes (facts, the reference, has its own benchmark: benchmarks/real_model.py)
ORDER = ["alpaca_lora", "chinese_vicuna_medical", "huatuo", "chatglm_ptuning", "alpaca", "vicuna", "belle", "dolly"]


def recipe_settings(recipe: str):
    """The recipe's own composed config (its model is replaced anyway)."""
    from tune import compose

    return compose(recipe, ["model=tiny"])


def passes(cfg) -> tuple[int, float]:
    """(training records wanted, epochs over them) for STEPS steps of BATCH examples (see STEPS); ``cfg``: the
    recipe's own settings."""
    t = cfg.trainer
    if cfg.method.name in FULL_METHODS:
        return STEPS * BATCH, 1
    epochs = t.num_train_epochs if t.max_steps <= 0 else STEPS_RECIPE_EPOCHS
    return min(TRAIN, round(STEPS * BATCH / epochs)), epochs


def split_sample(recipe: str, root: str, wanted: int) -> tuple[str, str, int, int]:
    """(train file, held-out file, records each) from the recipe's sample: the first ``wanted`` records train, the
    next are held out (a sample smaller than that + HELD_OUT keeps a quarter for held out)."""
    from tune.data.reading import read_records

    rel, _, _ = SAMPLES[recipe]
    records = [r.record for r in read_records(os.path.join(DATA, rel), ENCODING.get(rel, "utf-8")) if r.error is None]
    held = HELD_OUT if len(records) >= wanted + HELD_OUT else max(2, len(records) // 4)
    train = min(wanted, len(records) - held)
    paths = []
    for name, part in (("train", records[:train]), ("heldout", records[train:train + held])):
        path = os.path.join(root, f"{recipe}-{name}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in part)
        paths.append(path)
    return paths[0], paths[1], train, held


def median_length(recipe: str, run_overrides: list[str], path: str, base: str) -> int:
    """The median token count of the sample's examples, whole, with the recipe's template on the base's tokenizer."""
    import statistics

    from transformers import AutoTokenizer

    from tune import compose
    from tune.data.prepare import prepare
    from tune.data.templates import get_template

    cfg = compose(recipe, [*run_overrides, f"data.path={path}", "data.cache=false", "data.max_length=1000000"])
    tokenizer = AutoTokenizer.from_pretrained(base)
    data = prepare(cfg.data, tokenizer, get_template(cfg.template.name, tokenizer))
    return int(statistics.median(len(x) for x in data.examples["input_ids"]))


def scaled(cfg, train_records: int, epochs: float, median: int) -> tuple[list[str], dict]:
    """The recipe's settings (``cfg``) scaled to this machine (module docstring) for ``epochs`` over
    ``train_records``; ``median``: the sample's median example length in tokens."""
    t = cfg.trainer
    steps = max(MIN_STEPS, round(epochs * train_records / BATCH))  # dolly's sample is 10 records
    epochs = steps * BATCH / train_records
    lr = min(t.learning_rate * LR_FACTOR, LR_CAP)
    # the recipe's own; raised (in steps of 128) to the sample's median example where the recipe's would cut
    # most examples: Chinese costs about two tokens a character on SmolLM2's tokenizer
    max_length = min(MAX_LENGTH, max(cfg.data.max_length, -(-median // 128) * 128))
    warmup = min(t.warmup_steps, steps // 10) if t.warmup_steps else 0
    ranks = 2 if cfg.deepspeed.name != "none" else 1
    overrides = [
        f"trainer.max_steps={steps}",
        f"trainer.per_device_train_batch_size={BATCH // ranks}",
        "trainer.gradient_accumulation_steps=1",
        f"trainer.learning_rate={lr}",
        f"trainer.warmup_steps={warmup}",
        f"data.max_length={max_length}",
        "data.val_size=0",
        "trainer.save_steps=100000",
        "trainer.logging_steps=5",
        "trainer.report_to=[]",
        "trainer.eval_steps=null",
    ]
    shown = {
        "steps": f"{steps} ({epochs:.3g} epochs)",
        "batch": f"{BATCH} ({BATCH // ranks} x {ranks} ranks)",
        "lr": f"{t.learning_rate:g} -> {lr:g} (x {LR_FACTOR})",
        "warmup_steps": warmup,
        "max_length": f"{max_length} (recipe {cfg.data.max_length}, sample median {median})",
        "deepspeed": cfg.deepspeed.name,
        "method": cfg.method.name,
        "precision": str(t.precision),
        "checkpointing": str(t.gradient_checkpointing),
        "template": cfg.template.name,
    }
    return overrides, shown


ACCELERATE_2_RANKS = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                      "--main_process_port", "0", "-m", "tune.train"]


def run_tune_train(recipe: str, overrides: list[str], deepspeed: bool) -> tuple[float, float | None, str]:
    log, seconds = tune_train([f"recipe={recipe}", *overrides], launch=ACCELERATE_2_RANKS if deepspeed else TUNE_TRAIN,
                              label=recipe)
    peak = re.findall(r"peak memory ([\d.]+) GB", log)
    return seconds, float(peak[-1]) if peak else None, log


def answers(model, tokenizer, renderer, conversations, new_tokens: int) -> list[tuple[str, bool]]:
    """(reply, stopped at the end of turn before ``new_tokens``) per held-out prompt, greedy."""
    import torch

    from tune.infer.generation import generate_ids, prompt_ids
    from tune.models.vocab import stop_token_ids

    stops = stop_token_ids(tokenizer, renderer.stop_strings)
    out = []
    for conv in conversations:
        ids = prompt_ids(renderer, tokenizer, [conv])[0]
        x = torch.tensor([ids])
        new = generate_ids(model, x, torch.ones_like(x), max_new_tokens=new_tokens, do_sample=False,
                           eos_token_id=stops, pad_token_id=tokenizer.pad_token_id)[0, len(ids):].tolist()
        stopped = bool(new) and new[-1] in stops
        out.append((tokenizer.decode(new, skip_special_tokens=True).strip(), stopped))
    return out


def held_out_scores(recipe: str, run_overrides: list[str], heldout: str, checkpoint: str | None, base: str) -> dict:
    """Loss and answers on the held-out records: the trained run's (checkpoint) or the base model's (None)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tune import compose
    from tune.data.prepare import prepare
    from tune.data.templates import get_template
    from tune.infer.evaluate import labelled_loss, split_prompt
    from tune.infer.load import load_trained

    if checkpoint:
        trained = load_trained(checkpoint, dtype=torch.float32)
        model, tokenizer, renderer = trained.model, trained.tokenizer, trained.renderer
    else:  # the base as the run holds it: a method with a quantised base is compared with that quantised base
        from tune.methods import get_method

        cfg = compose(recipe, run_overrides)
        method = get_method(cfg.method.name)
        tokenizer = AutoTokenizer.from_pretrained(base)
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32,
                                                     **method.load_kwargs(cfg.method, torch.float32)).eval()
        model = method.prepare_base(model, cfg.method)
        renderer = get_template(cfg.template.name, tokenizer)
    cfg = compose(
        recipe,
        [o for o in run_overrides if not o.startswith("data.path=")] + [f"data.path={heldout}", "data.cache=false"],
    )
    data = prepare(cfg.data, tokenizer, renderer)
    loss, _ = labelled_loss(model, tokenizer, data.examples, 4)
    # answers to the first held-out records that fit data.max_length whole (their reference answer ends within
    # it), at most data.max_length new tokens: an answer as long as the longest trained on can stop
    whole = compose(recipe, [*(o for o in run_overrides if not o.startswith(("data.path=", "data.max_length="))),
                             f"data.path={heldout}", "data.cache=false", "data.max_length=1000000"])
    fits = [r for r in prepare(whole.data, tokenizer, renderer).examples if len(r["input_ids"]) <= cfg.data.max_length]
    convs = [split_prompt(r["messages"])[0] for r in fits[:3]]
    return {"loss": loss, "answers": answers(model, tokenizer, renderer, convs, cfg.data.max_length)}


def run_recipe(recipe: str, root: str, base: str, earlier: dict) -> dict:
    """Train ``recipe`` on ``base`` as scaled here and score it before and after (``earlier``: results of the
    recipes run before it; chinese_vicuna_medical continues from alpaca_lora's adapter)."""
    rel, fmt, stands_for = SAMPLES[recipe]
    own = recipe_settings(recipe)
    wanted, epochs = passes(own)
    train_file, heldout, n_train, n_held = split_sample(recipe, root, wanted)
    data = [f"data.path={train_file}", f"data.format={fmt}"]
    model_args = [f"model.name_or_path={base}"]
    if recipe == "chatglm_ptuning":
        model_args += ["model.trust_remote_code=false", "template=tokenizer"]
    if recipe == "chinese_vicuna_medical":
        if "alpaca_lora" not in earlier:
            raise SystemExit("chinese_vicuna_medical continues from alpaca_lora's adapter: run both")
        model_args.append(f"method.init_adapter={earlier['alpaca_lora']['model_dir']}")
    out = os.path.join(root, f"{recipe}-run")
    overrides, shown = scaled(own, n_train, epochs, median_length(recipe, [*model_args, *data], train_file, base))
    run_overrides = [*model_args, *data, *overrides]
    if recipe == "chatglm_ptuning":
        shown["template"] = "tokenizer (the model's own; chatglm2's [gMASK]/sop are ChatGLM's tokens)"
    print(f"[{recipe}] sample {rel} ({stands_for}): {n_train} train, {n_held} held out; "
          + ", ".join(f"{k} {v}" for k, v in shown.items()), flush=True)
    before = held_out_scores(recipe, run_overrides, heldout, None, base)
    seconds, peak, log = run_tune_train(recipe, [*run_overrides, f"trainer.output_dir={out}"],
                                        shown["deepspeed"] != "none")
    after = held_out_scores(recipe, run_overrides, heldout, out, base)
    return {"sample": rel, "stands_for": stands_for, **shown, "train_records": n_train, "held_out_records": n_held,
            "loss_before": before["loss"], "loss_after": after["loss"], "loss_fall": 1 - after["loss"] / before["loss"],
            "seconds": seconds, "peak_gb": peak,
            "train_losses": [float(x) for x in re.findall(r"step \d+/\d+: loss ([\d.]+)", log)],
            "answers_before": before["answers"], "answers_after": after["answers"],
            "model_dir": os.path.join(out, "model")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=ORDER)
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    from tests.smollm2 import smollm2_folder

    base = smollm2_folder()
    results = {}
    with tempfile.TemporaryDirectory() as root:
        for recipe in [r for r in ORDER if r in args.recipes]:
            results[recipe] = r = run_recipe(recipe, root, base, results)
            stopped = sum(s for _, s in r["answers_after"])
            print(f"[{recipe}] held-out loss {r['loss_before']:.3f} -> {r['loss_after']:.3f} ({r['loss_fall']:.0%} "
                  f"lower); answers stopped {stopped}/{len(r['answers_after'])}; {r['seconds']:.0f} s, peak "
                  f"{r['peak_gb']} GB; training loss every 5 steps {' '.join(f'{x:.2f}' for x in r['train_losses'])}",
                  flush=True)
            for (b, _), (a, s) in zip(r["answers_before"], r["answers_after"]):
                print(f"    base: {b[:90]!r}\n    {recipe}: {a[:90]!r}" + ("" if s else "  (ran to the limit)"))
    print(
        "\n| recipe | method | DeepSpeed | precision | steps | lr (recipe -> here) | held-out loss | answers stop | "
        "time | peak memory |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    for recipe, r in results.items():
        stops = sum(s for _, s in r["answers_after"])
        print(
            f"| {recipe} | {r['method']} | {r['deepspeed']} | {r['precision']} | {r['steps']} | {r['lr']} | "
            f"{r['loss_before']:.2f} -> {r['loss_after']:.2f} ({r['loss_fall']:.0%} lower) | "
            f"{stops}/{len(r['answers_after'])} | {r['seconds']:.0f} s | {r['peak_gb']} GB |"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
