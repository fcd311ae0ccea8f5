"""The embedded default model: a small Llama-architecture model (random init) and a byte-level BPE
tokenizer trained here on bundled English and Chinese text. Built once per (size, seed), cached on
disk, and loaded like any Hugging Face model folder.
"""
from __future__ import annotations

import hashlib
import json
import os
from importlib import resources

from ..distributed import process_group
from ..paths import atomic_dir, cache_dir as tune_cache_dir

TOKENIZER_VERSION = 1
SPECIAL_TOKENS = ["<pad>", "<s>", "</s>"]
# Tokens the bundled chat templates use, so every template tokenises sensibly on the tiny model.
TEMPLATE_TOKENS = ["<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>",
                   "<|end_header_id|>", "<|eot_id|>", "[gMASK]", "sop", "<|system|>", "<|user|>",
                   "<|assistant|>", "<|observation|>"]
CHATML_JINJA = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' }}"
    "{% if not loop.last or message['role'] != 'assistant' %}{{ '\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)




def corpus_texts() -> list[str]:
    """Bundled text the tokenizer learns from: our corpus plus the demo datasets."""
    assets = resources.files("tune") / "assets"
    texts = [(assets / "corpus.txt").read_text(encoding="utf-8")]
    for name in ("alpaca_demo.json", "sharegpt_demo.json"):
        texts.append((assets / "demo" / name).read_text(encoding="utf-8"))
    return texts


def train_tokenizer(vocab_size: int):
    """A byte-level BPE tokenizer (no prefix space, so segments tokenise and decode exactly)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS + TEMPLATE_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus_texts(), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   additional_special_tokens=TEMPLATE_TOKENS, clean_up_tokenization_spaces=False,
                                   model_max_length=4096)
    fast.chat_template = CHATML_JINJA
    return fast


def build_tiny(out_dir: str, *, hidden_size: int = 128, num_layers: int = 2, num_heads: int = 4,
               num_kv_heads: int = 2, intermediate_size: int = 344, vocab_size: int = 4096,
               max_position_embeddings: int = 4096, seed: int = 0) -> str:
    """Build the tiny model and tokenizer into out_dir (save_pretrained format)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = train_tokenizer(vocab_size)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=intermediate_size,
                         num_hidden_layers=num_layers, num_attention_heads=num_heads, num_key_value_heads=num_kv_heads,
                         max_position_embeddings=max_position_embeddings, tie_word_embeddings=False,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, torch_dtype="float32")
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def _complete(folder: str) -> bool:
    return all(os.path.isfile(os.path.join(folder, f)) for f in REQUIRED_FILES)


def tiny_model_dir(cache_dir: str | None = None, **size) -> str:
    """The cached folder of the tiny model with these sizes, building it (atomically) if missing.

    Under torch.distributed, rank 0 builds and the others wait (transformers saves weights on rank 0 only)."""
    import inspect

    defaults = {k: p.default for k, p in inspect.signature(build_tiny).parameters.items() if k != "out_dir"}
    size = {**defaults, **size}
    key_src = json.dumps({"v": TOKENIZER_VERSION, **size}, sort_keys=True)
    key_src += hashlib.sha256("".join(corpus_texts()).encode()).hexdigest()
    key = hashlib.sha256(key_src.encode()).hexdigest()[:12]
    root = cache_dir or tune_cache_dir()
    final = os.path.join(root, f"tiny-{key}")
    if _complete(final):
        return final
    dist = process_group()
    if dist is None or dist.get_rank() == 0:
        _build_atomically(final, size)
    if dist is not None:
        dist.barrier()
    return final


def _build_atomically(final: str, size: dict) -> None:
    with atomic_dir(final, keep_existing=_complete) as tmp:
        build_tiny(tmp, **size)
        if not _complete(tmp):
            raise RuntimeError(f"building the tiny model left an incomplete folder {tmp}")
