"""The GGUF export run by llama.cpp itself: what transformers' GGUF reader cannot show (the pre-tokenizer, token
types, BOS handling, stopping at the end of turn), checked on the tiny demo model and on SmolLM2, f16 and q8_0.

Builds llama.cpp once from the registry's llama-cpp-python source package (cmake + ninja, no network beyond the
registry; about 3 minutes on 2 cores) unless --llama-cpp names a build/bin folder, then for each model:
trains it (the README's demo recipe on the tiny model; one LoRA step on SmolLM2 with its chatml template),
exports it (`tune export export.gguf=KIND export.dtype=fp32`), and for each of a few prompts rendered with
the training template compares
  - ids: `llama-tokenize` of the prompt against the training tokenizer's ids;
  - answer: `llama-simple` greedy (20 tokens) against transformers' greedy answer on the fp32 safetensors
    export, as text;
  - stop: llama.cpp stopped before 20 tokens exactly where transformers stopped at the end of turn;
and first compares tune's f32 file of SmolLM2 with the one llama.cpp's own converter (convert_hf_to_gguf.py, from
the same source package) writes: tensor names, shapes, values and metadata.

    python benchmarks/llama_cpp_roundtrip.py [--llama-cpp build/bin] [--models tiny smollm2] [--kinds f16 q8_0]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(REPO, "src"), REPO]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
SDIST = "llama-cpp-python==0.3.36"
BUILD_ROOT = os.path.expanduser("~/.cache/tune-llamacpp")
TARGETS = ["llama-tokenize", "llama-simple", "llama-quantize"]
QUESTIONS = {"tiny": ["What colour is snow?", "What is the capital of France?", "天空是什么颜色？"],
             "smollm2": ["What is the capital of France?", "What is 2 + 2?", "Name a colour."]}
NEW_TOKENS = 20


def build_llama_cpp() -> tuple[str, float | None]:
    """(build/bin, seconds the build took; None when an earlier build was reused)."""
    bins = glob.glob(os.path.join(BUILD_ROOT, "*", "vendor", "llama.cpp", "build", "bin"))
    if bins and all(os.path.exists(os.path.join(bins[0], t)) for t in TARGETS):
        return bins[0], None
    os.makedirs(BUILD_ROOT, exist_ok=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", SDIST, "--no-deps", "--no-binary", ":all:",
                    "-d", BUILD_ROOT], check=True)
    archive = glob.glob(os.path.join(BUILD_ROOT, "llama_cpp_python-*.tar.gz"))[0]
    with tarfile.open(archive) as tar:
        tar.extractall(BUILD_ROOT, filter="data")
    source = glob.glob(os.path.join(BUILD_ROOT, "llama_cpp_python-*", "vendor", "llama.cpp"))[0]
    subprocess.run(["cmake", "-S", source, "-B", os.path.join(source, "build"), "-G", "Ninja",
                    "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_CURL=OFF", "-DLLAMA_OPENSSL=OFF", "-DLLAMA_BUILD_TESTS=OFF",
                    "-DLLAMA_BUILD_SERVER=OFF"], check=True, capture_output=True)
    subprocess.run(["ninja", "-C", os.path.join(source, "build"), *TARGETS], check=True, capture_output=True)
    return os.path.join(source, "build", "bin"), time.perf_counter() - start


def tune(*args: str) -> None:
    r = subprocess.run([sys.executable, "-m", "tune", *args], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"tune {args[0]} failed: {r.stderr.strip().splitlines()[-1]}")


def train_run(model: str, root: str) -> str:
    out = os.path.join(root, f"{model}-run")
    if model == "tiny":
        tune("train", "recipe=demo", f"trainer.output_dir={out}", "trainer.report_to=[]")
    else:
        from tests.smollm2 import smollm2_folder

        tune("train", f"model.name_or_path={smollm2_folder()}", "data=demo", "template=chatml", "method=lora",
             "trainer.max_steps=1", "trainer.learning_rate=1e-5", "data.max_length=64", "trainer.report_to=[]",
             f"trainer.output_dir={out}", "trainer.precision=fp32")
    return out


def llama_ids(bin_dir: str, gguf: str, text: str) -> list[int]:
    r = subprocess.run([os.path.join(bin_dir, "llama-tokenize"), "-m", gguf, "-p", text, "--ids", "--log-disable"],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def llama_answer(bin_dir: str, gguf: str, text: str) -> tuple[str, bool]:
    """llama.cpp's greedy answer (llama-simple: it tokenises the prompt with its control tokens, adds nothing the
    file says not to add, and stops at an end-of-generation token) and whether it stopped before the limit."""
    r = subprocess.run([os.path.join(bin_dir, "llama-simple"), "-m", gguf, "-n", str(NEW_TOKENS), text],
                       capture_output=True, text=True, timeout=600, check=True)
    decoded = re.search(r"decoded (\d+) tokens", r.stderr)
    answer = r.stdout[len(text):] if r.stdout.startswith(text) else r.stdout
    return answer.strip(), decoded is not None and int(decoded.group(1)) < NEW_TOKENS


def oracle(root: str) -> dict:
    """llama.cpp's own converter as the oracle, on SmolLM2: its f32 file of the base folder against tune's f32 export
    of a run that changed nothing (LoRA at learning rate 0: the merge is the base): tensor names, shapes and
    values, and metadata keys."""
    import gguf
    import numpy as np

    from tests.smollm2 import smollm2_folder

    folder = smollm2_folder()
    source = glob.glob(os.path.join(BUILD_ROOT, "llama_cpp_python-*", "vendor", "llama.cpp"))[0]
    deps = os.path.join(BUILD_ROOT, "sentencepiece")  # the converter imports it; kept out of tune's venv
    if not os.path.isdir(deps):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", deps, "sentencepiece"], check=True)
    theirs = os.path.join(root, "oracle-f32.gguf")
    subprocess.run([sys.executable, os.path.join(source, "convert_hf_to_gguf.py"), folder, "--outtype", "f32",
                    "--outfile", theirs], check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": os.pathsep.join([os.path.join(source, "gguf-py"), deps])})
    run, out = os.path.join(root, "oracle-run"), os.path.join(root, "oracle-export")
    tune("train", f"model.name_or_path={folder}", "data=demo", "template=chatml", "method=lora", "trainer.max_steps=1",
         "trainer.learning_rate=0", "data.max_length=64", "trainer.report_to=[]", f"trainer.output_dir={run}",
         "trainer.precision=fp32")
    tune("export", f"checkpoint={run}", f"out={out}", "export.gguf=f32", "export.dtype=fp32")
    a, b = gguf.GGUFReader(theirs), gguf.GGUFReader(os.path.join(out, "model-f32.gguf"))
    ta, tb = {t.name: t for t in a.tensors}, {t.name: t for t in b.tensors}
    diff = max(float(np.abs(np.asarray(ta[n].data, dtype=np.float32) - np.asarray(tb[n].data, dtype=np.float32)).max())
               for n in ta.keys() & tb.keys())
    keys_a = {k for k in a.fields if not k.startswith("GGUF.")}
    keys_b = {k for k in b.fields if not k.startswith("GGUF.")}
    same_values = {k: a.fields[k].contents() == b.fields[k].contents() for k in sorted(keys_a & keys_b)
                   if not k.startswith("general.")}
    return {"tensor_names_equal": ta.keys() == tb.keys(),
            "shapes_equal": all(list(ta[n].shape) == list(tb[n].shape) for n in ta.keys() & tb.keys()),
            "max_abs_difference": diff, "keys_only_llama_cpp": sorted(keys_a - keys_b),
            "keys_only_tune": sorted(keys_b - keys_a),
            "values_differ": [k for k, same in same_values.items() if not same]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llama-cpp", help="llama.cpp's build/bin (default: build it once from the registry)")
    parser.add_argument("--models", nargs="+", default=["tiny", "smollm2"])
    parser.add_argument("--kinds", nargs="+", default=["f16", "q8_0"])
    parser.add_argument("--no-oracle", action="store_true", help="skip the llama.cpp converter comparison")
    args = parser.parse_args()
    bin_dir, build_seconds = (args.llama_cpp, None) if args.llama_cpp else build_llama_cpp()
    print(f"llama.cpp: {bin_dir}" + (f" (built in {build_seconds:.0f} s)" if build_seconds else " (an earlier build)"))

    import torch
    from transformers import AutoModelForCausalLM

    from tune.data.conversation import Conversation
    from tune.infer.load import load_trained

    rows, compared = [], None
    with tempfile.TemporaryDirectory() as root:
        if not args.no_oracle and "smollm2" in args.models:
            compared = oracle(root)
            print("oracle (llama.cpp's converter, SmolLM2 f32):", json.dumps(compared))
        for model in args.models:
            run = train_run(model, root)
            trained = load_trained(run)
            eos = trained.model.generation_config.eos_token_id
            stops = set(eos if isinstance(eos, list) else [eos])
            for kind in args.kinds:
                out = os.path.join(root, f"{model}-{kind}")
                tune("export", f"checkpoint={run}", f"out={out}", f"export.gguf={kind}", "export.dtype=fp32")
                gguf = os.path.join(out, f"model-{kind}.gguf")
                reference = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
                for question in QUESTIONS[model]:
                    conv = Conversation.from_dicts([{"role": "user", "content": question}])
                    text = trained.renderer.render_text(conv, add_generation_prompt=True)
                    ids = trained.tokenizer(text, add_special_tokens=False)["input_ids"]
                    with torch.no_grad():
                        generated = reference.generate(torch.tensor([ids]), max_new_tokens=NEW_TOKENS,
                                                       do_sample=False, eos_token_id=sorted(stops),
                                                       pad_token_id=trained.tokenizer.pad_token_id)
                    new = generated[0, len(ids):].tolist()
                    hf_stopped = bool(new) and new[-1] in stops
                    hf_text = trained.tokenizer.decode(new, skip_special_tokens=True).strip()
                    lc_text, lc_stopped = llama_answer(bin_dir, gguf, text)
                    row = {"model": model, "kind": kind, "question": question,
                           "ids_equal": llama_ids(bin_dir, gguf, text) == ids,
                           "answer_equal": lc_text == hf_text, "transformers": hf_text, "llama.cpp": lc_text,
                           "stops": (lc_stopped == hf_stopped), "transformers_stopped": hf_stopped}
                    rows.append(row)
                    same = {k: "same" if row[k] else "DIFFERS" for k in ("ids_equal", "answer_equal", "stops")}
                    print(f"[{model} {kind}] ids {same['ids_equal']}  answer {same['answer_equal']}  stop "
                          f"{same['stops']}  {question!r} -> llama.cpp {lc_text!r}"
                          + ("" if row["answer_equal"] else f" / transformers {hf_text!r}"))
    for key in ("ids_equal", "answer_equal", "stops"):
        print(f"{key}={sum(r[key] for r in rows)}/{len(rows)}")
    print(json.dumps({"build_seconds": build_seconds, "oracle": compared, "rows": rows}, ensure_ascii=False))


if __name__ == "__main__":
    main()
