"""`tune export export.gguf=...`: the GGUF file is the model. Read back by transformers' GGUF loader it gives the
logits of an fp32 safetensors export of the same run (f32 to 1e-5 relative, f16/bf16/q8_0 within their
rounding), its chat template renders the training prompt byte for byte, its tokenizer gives the training ids,
and what only llama.cpp reads (token types, the pre-tokenizer, BOS handling, the end of turn) is what the
tokenizer and template say. The vocabulary is checked against llama.cpp's own vocab files of LLaMA-2, LLaMA-3
and Qwen2."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from tune import compose, export, train
from tune.errors import ConfigError

PROMPT = [{"role": "user", "content": "What colour is snow?"}]
# largest logit difference relative to the largest logit, by file type: f32 stores the fp32 weights as they are;
# f16 keeps 11 significant bits, bf16 8, q8_0 8 bits per value with one scale per 32 (measured on the tiny model:
# 2.3e-4, 1.4e-3, 6.8e-3); each bound leaves about 5x room over what rounding gave
TOLERANCE = {"f32": 1e-5, "f16": 1e-3, "bf16": 1e-2, "q8_0": 3e-2}


def reader_fields(path):
    import gguf

    reader = gguf.GGUFReader(path)
    return reader, {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """method -> a finished two-step run of the demo recipe on the tiny model (chatml, so the end of turn is its
    own control token)."""
    root = tmp_path_factory.mktemp("gguf_runs")
    out = {}
    for method in ("full", "lora", "qlora", "freeze"):
        folder = root / method
        train(compose("demo", [f"method={method}", "template=chatml", "trainer.max_steps=2", "trainer.report_to=[]",
                               f"trainer.output_dir={folder}", "data.cache=false", "trainer.precision=fp32"]))
        out[method] = str(folder)
    return out


def logits(model_dir, gguf_file=None, ids=None):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=gguf_file, dtype=torch.float32)
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]


def rendered_prompt(folder):
    from tune.infer.load import load_trained

    from tune.data.conversation import Conversation

    trained = load_trained(folder)
    return trained, trained.renderer.render_text(Conversation.from_dicts(PROMPT), add_generation_prompt=True)


def f32_export_is_the_model(run, out):
    """Export ``run`` with an f32 GGUF file beside an fp32 safetensors folder in ``out``; assert the file's logits
    are the folder's on the training prompt; (the Trained run, its prompt text and ids, the file's reader and
    fields)."""
    export(str(run), str(out), gguf="f32", dtype="fp32")
    trained, text = rendered_prompt(str(run))
    ids = trained.tokenizer(text, add_special_tokens=False)["input_ids"]
    want, got = logits(str(out), ids=ids), logits(str(out), "model-f32.gguf", ids)
    assert float((want - got).abs().max() / want.abs().max()) <= TOLERANCE["f32"]
    reader, fields = reader_fields(out / "model-f32.gguf")
    return trained, text, ids, reader, fields


@pytest.mark.parametrize("method", ["full", "lora", "qlora", "freeze"])
def test_the_f32_file_is_the_model(runs, method, tmp_path):
    out = tmp_path / "export"
    trained, text, ids, _, fields = f32_export_is_the_model(runs[method], out)
    from jinja2 import Template

    # the file's own chat template (transformers' GGUF tokenizer drops it) renders the training prompt
    assert Template(fields["tokenizer.chat_template"]).render(messages=PROMPT, add_generation_prompt=True) == text
    from transformers import AutoTokenizer

    file_tokenizer = AutoTokenizer.from_pretrained(str(out), gguf_file="model-f32.gguf")
    assert file_tokenizer(text, add_special_tokens=False)["input_ids"] == ids
    # what only llama.cpp reads
    tokens, types = fields["tokenizer.ggml.tokens"], fields["tokenizer.ggml.token_type"]
    for control in ("<|im_start|>", "<|im_end|>", "<s>", "</s>"):
        assert types[tokens.index(control)] == 3, control  # CONTROL: parsed as one token, and a stop
    assert fields["tokenizer.ggml.eot_token_id"] == tokens.index("<|im_end|>")
    assert fields["tokenizer.ggml.eos_token_id"] == trained.tokenizer.eos_token_id
    assert fields["tokenizer.ggml.add_bos_token"] is False and fields["tokenizer.ggml.add_eos_token"] is False
    assert fields["tokenizer.ggml.model"] == "gpt2" and fields["tokenizer.ggml.pre"] == "gpt-2"
    for key in ("context_length", "embedding_length", "block_count", "feed_forward_length", "rope.dimension_count",
                "attention.head_count", "attention.head_count_kv", "attention.layer_norm_rms_epsilon",
                "rope.freq_base"):
        assert f"llama.{key}" in fields, key
    assert (out / "Modelfile").read_text().startswith("FROM ./model-f32.gguf\n")


def test_rounded_files_stay_within_their_rounding_and_q8_0_falls_back_per_tensor(runs, tmp_path):
    trained, text = rendered_prompt(runs["full"])
    ids = trained.tokenizer(text, add_special_tokens=False)["input_ids"]
    for kind in ("f16", "bf16", "q8_0"):
        out = tmp_path / kind
        export(runs["full"], str(out), gguf=kind, dtype="fp32")
        want, got = logits(str(out), ids=ids), logits(str(out), f"model-{kind}.gguf", ids)
        assert float((want - got).abs().max() / want.abs().max()) <= TOLERANCE[kind], kind
    reader, _ = reader_fields(tmp_path / "q8_0" / "model-q8_0.gguf")
    types = {t.name: t.tensor_type.name for t in reader.tensors}
    # tiny's intermediate size 344 is no multiple of 32: the down projections' rows cannot be Q8_0 blocks
    assert types["blk.0.ffn_down.weight"] == "F16" and types["blk.0.ffn_up.weight"] == "Q8_0"
    assert types["blk.0.attn_norm.weight"] == "F32" and types["token_embd.weight"] == "Q8_0"


def test_refusals_are_one_line_before_loading(runs, tmp_path, monkeypatch):
    import tune.infer.export as export_module

    monkeypatch.setattr(export_module, "load_trained", lambda *a, **k: pytest.fail("loaded the model"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no llama-quantize
    with pytest.raises(ConfigError, match=r"^export.gguf=q4_k_m: needs llama.cpp's llama-quantize"):
        export(runs["full"], str(tmp_path / "x"), gguf="q4_k_m")
    with pytest.raises(ConfigError, match="is not one of"):
        compose(None, ["export.gguf=q3"])
    # the tokenizer's refusals too: a pre-tokenizer llama.cpp does not know (here: made unknown)
    import tune.exports.gguf_vocab as gguf_vocab

    monkeypatch.setattr(gguf_vocab, "llama_cpp_pre_name", lambda pre_tokenizer: None)
    with pytest.raises(ConfigError, match=r"^export.gguf: the tokenizer's pre-tokenizer splits text unlike every one"):
        export(runs["full"], str(tmp_path / "y"), gguf="f16")


def test_an_architecture_it_does_not_write_is_named(runs, tmp_path):
    from tune.exports.gguf import GGUF
    from tune.rundir import RunMeta

    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text('{"model_type": "gpt_neox"}')
    meta = RunMeta(method="full", template="chatml", base_model=str(base), adapter=False)
    known = r"a gpt_neox model is not written yet \(architectures: llama, mistral, qwen2\)"
    with pytest.raises(ConfigError, match=known):
        GGUF().check(meta, type("O", (), {"gguf": "f16", "llama_cpp": None})())
    (base / "config.json").write_text('{"model_type": "llama", "rope_scaling": {"rope_type": "llama3"}}')
    with pytest.raises(ConfigError, match=r"rope scaling 'llama3' is not written yet"):  # before any weight loads
        GGUF().check(meta, type("O", (), {"gguf": "f16", "llama_cpp": None})())


def test_p_tuning_is_refused_with_one_line_before_the_base_loads(tmp_path, monkeypatch):
    import tune.infer.load as load

    run = tmp_path / "run"
    train(compose("demo", ["method=ptuning_v2", "trainer.max_steps=1", "trainer.report_to=[]",
                           f"trainer.output_dir={run}", "data.cache=false"]))
    monkeypatch.setattr(load, "load_base", lambda *a, **k: pytest.fail("loaded the base"))
    with pytest.raises(ConfigError) as err:
        export(str(run), str(tmp_path / "x"), gguf="f16")
    assert "\n" not in str(err.value) and "prefix" in str(err.value)


@pytest.fixture(scope="module")
def llama_cpp_vocabs(real_tokenizer_dirs):
    from tests.real_tokenizers import vocab_files
    from tests.smollm2 import models_dir

    try:
        return vocab_files(os.path.join(models_dir(), "tokenizers"), ["llama-spm", "llama-bpe", "qwen2"])
    except RuntimeError as err:
        pytest.skip(str(err))


@pytest.mark.parametrize("name", ["llama-spm", "llama-bpe", "qwen2"])
def test_vocabularies_match_llama_cpps_own_files(name, real_tokenizer_dirs, llama_cpp_vocabs):
    """Tokens, token types, merges (BPE) and the pre-tokenizer name as llama.cpp's vocab files hold them; for
    sentencepiece, scores that order every merged token as the original scores do (ties aside)."""
    from transformers import AutoTokenizer

    from tune.exports.gguf_vocab import gguf_vocab

    tokenizer = AutoTokenizer.from_pretrained(real_tokenizer_dirs[name])
    _, fields = reader_fields(llama_cpp_vocabs[name])
    tokens = fields["tokenizer.ggml.tokens"]
    vocab = gguf_vocab(tokenizer, max(len(tokens), len(tokenizer)))  # the llama-bpe fixture has one token more
    assert vocab.model == fields["tokenizer.ggml.model"]
    assert vocab.tokens[: len(tokens)] == tokens
    assert [int(t) for t in vocab.types[: len(tokens)]] == fields["tokenizer.ggml.token_type"]
    if vocab.model == "gpt2":
        assert vocab.pre == fields["tokenizer.ggml.pre"] and vocab.merges == fields["tokenizer.ggml.merges"]
    else:
        original, ours = np.array(fields["tokenizer.ggml.scores"]), np.array(vocab.scores)
        merged = sorted((i for i in range(len(tokens)) if ours[i] < 0), key=lambda i: -ours[i])
        assert len(merged) > 29000 and all(original[a] >= original[b] for a, b in zip(merged, merged[1:]))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["lora", "qlora", "full", "freeze"])
def test_smollm2_export_is_the_model(method, smollm2, tmp_path):
    """A real pretrained model: tied embedding (no output.weight), its GGUF file's pre-tokenizer (smollm) kept
    from import to export, and the f32 file's logits those of the fp32 safetensors export, for every method that
    merges (QLoRA's 4-bit base dequantised first)."""
    run = tmp_path / "run"
    train(compose(None, [f"model.name_or_path={smollm2[1]}", "data=demo", "template=chatml", f"method={method}",
                         "trainer.max_steps=1", "data.max_length=64", "trainer.report_to=[]",
                         f"trainer.output_dir={run}", "data.cache=false", "trainer.precision=fp32"]))
    trained, _, _, reader, fields = f32_export_is_the_model(run, tmp_path / "export")
    assert "output.weight" not in {t.name for t in reader.tensors}
    assert fields["tokenizer.ggml.pre"] == "smollm"
    # digits split one by one, as the model's own tokenizer (and llama.cpp's smollm) does
    assert trained.tokenizer.tokenize("2024") == ["2", "0", "2", "4"]


def test_a_qwen2_model_is_written_unpermuted_with_its_biases(real_tokenizer_dirs, tmp_path):
    """qwen2: NEOX RoPE (q/k as they are), q/k/v biases, Qwen2's real 151k byte-level tokenizer (pre qwen2)."""
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(real_tokenizer_dirs["qwen2"])
    base = tmp_path / "qwen2-base"
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id)
    Qwen2ForCausalLM(config).save_pretrained(base)
    tokenizer.save_pretrained(base)
    run = tmp_path / "run"
    train(compose("demo", [f"model.name_or_path={base}", "template=chatml", "method=lora", "trainer.max_steps=1",
                           "trainer.report_to=[]", f"trainer.output_dir={run}", "data.cache=false",
                           "trainer.precision=fp32"]))
    _, _, _, reader, fields = f32_export_is_the_model(run, tmp_path / "export")
    names = {t.name for t in reader.tensors}
    assert fields["general.architecture"] == "qwen2" and fields["tokenizer.ggml.pre"] == "qwen2"
    assert {"blk.0.attn_q.bias", "blk.0.attn_k.bias", "blk.0.attn_v.bias"} <= names and "output.weight" not in names
