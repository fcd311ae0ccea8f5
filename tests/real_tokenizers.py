"""Real tokenizers without ../shared: the vocab-only GGUF files llama.cpp keeps for its tokenizer tests, taken from
the llama-cpp-python source package on the package registry and converted as ../shared/tokenizers/README.md
describes (AutoTokenizer.from_pretrained(folder, gguf_file=...), pad = eos, save_pretrained). Cached next to the
test models (tests/smollm2.py), so the download happens once per machine."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

SDIST = "llama-cpp-python==0.3.36"
VOCABS = {"llama-spm": "ggml-vocab-llama-spm.gguf", "llama-bpe": "ggml-vocab-llama-bpe.gguf",
          "qwen2": "ggml-vocab-qwen2.gguf", "phi-3": "ggml-vocab-phi-3.gguf"}


def _complete(folder: str) -> bool:
    return all(os.path.isfile(os.path.join(folder, f)) for f in ("tokenizer.json", "tokenizer_config.json"))


def _extract_vocab_files(folder: str, files: set[str]) -> None:
    """Download the source package once and copy ``files`` (vocab GGUF names) out of it into ``folder``; raises
    RuntimeError with pip's last line where the registry is out of reach."""
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "-q", SDIST, "--no-deps", "--no-binary", ":all:",
                            "-d", tmp], capture_output=True, text=True)
        archives = [f for f in os.listdir(tmp) if f.endswith(".tar.gz")]
        if r.returncode or not archives:
            raise RuntimeError(f"cannot download {SDIST} from the package registry: "
                               f"{(r.stderr.strip().splitlines() or ['no source package'])[-1]}")
        with tarfile.open(os.path.join(tmp, archives[0])) as tar:
            for member in tar.getmembers():
                base = os.path.basename(member.name)
                if base in files and "/vendor/llama.cpp/models/" in member.name:
                    part = os.path.join(folder, base + ".part")
                    with tar.extractfile(member) as src, open(part, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    os.replace(part, os.path.join(folder, base))


def vocab_files(root: str, names) -> dict[str, str]:
    """name -> the original vocab-only GGUF file (llama.cpp's own reading of the vocabulary: scores, token types)."""
    out = {name: os.path.join(root, "vocab-gguf", VOCABS[name]) for name in names}
    missing = {VOCABS[n] for n, path in out.items() if not os.path.isfile(path)}
    if missing:
        _extract_vocab_files(os.path.join(root, "vocab-gguf"), missing)
    return out


def fetched_tokenizers(root: str, names) -> dict[str, str]:
    """name -> a folder AutoTokenizer loads; raises RuntimeError with pip's last line where the registry is out
    of reach."""
    out = {name: os.path.join(root, name) for name in names}
    missing = [n for n, folder in out.items() if not _complete(folder)]
    if not missing:
        return out
    from transformers import AutoTokenizer

    models = vocab_files(root, missing)
    for name in missing:
        folder, file = os.path.split(models[name])
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=file)
        tok.pad_token = tok.eos_token
        part = out[name] + ".part"
        shutil.rmtree(part, ignore_errors=True)
        tok.save_pretrained(part)
        shutil.rmtree(out[name], ignore_errors=True)
        os.replace(part, out[name])
    return out
