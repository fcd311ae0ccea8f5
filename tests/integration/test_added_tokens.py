"""A template whose control tokens the tokenizer lacks (chatml on LLaMA-2's sentencepiece tokenizer): the tokens
are added, the embeddings grow, the new rows train (LoRA: input embeddings and the untied LM head; full: as
part of the model), and the run reloads with them for chat and export."""
from __future__ import annotations

import json

import pytest
import torch

from tune import compose, train
from tune.errors import ConfigError

NEW = ["<|im_start|>", "<|im_end|>"]


@pytest.fixture(scope="module")
def spm_model_dir(real_tokenizer_dirs, tmp_path_factory) -> str:
    """A tiny random Llama with LLaMA-2's real tokenizer and vocabulary (32,000 rows, untied head)."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(real_tokenizer_dirs["llama-spm"])
    config = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("spm-model")
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


def overrides(model_dir, out, method="lora", *extra):
    return [f"model.name_or_path={model_dir}", "template=chatml", f"method={method}", "data=demo",
            "data.max_length=64", "data.max_samples=16", "trainer.max_steps=3", "trainer.per_device_train_batch_size=4",
            "trainer.learning_rate=1e-2", f"trainer.output_dir={out}", "trainer.report_to=[]",
            "trainer.save_steps=1000", "trainer.logging_steps=1", *extra]


@pytest.mark.parametrize("method", ["lora", "full"])
def test_added_tokens_train_save_and_reload(spm_model_dir, tmp_path, method, capfd):
    from transformers import AutoModelForCausalLM

    from tune.infer.load import load_trained

    result = train(compose(None, overrides(spm_model_dir, tmp_path / "run", method)))
    assert "added 2 control tokens the tokenizer lacked (<|im_start|>, <|im_end|>)" in capfd.readouterr().err
    meta = json.load(open(f"{result.model_dir}/tune.json"))
    assert meta["added_tokens"] == NEW
    ids = result.tokenizer.convert_tokens_to_ids(NEW)
    assert ids == [32000, 32001]
    base = AutoModelForCausalLM.from_pretrained(spm_model_dir)
    trained = load_trained(result.output_dir)
    emb, head = trained.model.get_input_embeddings().weight, trained.model.get_output_embeddings().weight
    assert emb.shape[0] == head.shape[0] == 32002
    merged = load_trained(result.output_dir, merge=method == "lora").model
    if method == "lora":  # peft's trainable tokens hold the trained new rows of the embeddings and the head
        from safetensors.torch import load_file
        state = load_file(f"{result.model_dir}/adapter_model.safetensors")
        rows = {k: v for k, v in state.items() if "trainable_tokens" in k}
        assert {("embed_tokens" in k, "lm_head" in k) for k in rows} == {(True, False), (False, True)}
        assert not any(v.shape[0] >= 32000 for v in state.values()), "the adapter holds whole embedding matrices"
        for key, value in rows.items():  # the merge writes exactly those rows
            w = merged.get_input_embeddings().weight if "embed_tokens" in key else merged.get_output_embeddings().weight
            assert torch.equal(w[ids].detach(), value)
        # an original row stays as the base had it
        assert torch.equal(merged.get_input_embeddings().weight[100], base.get_input_embeddings().weight[100])
    else:  # saved with the model: the reloaded rows are the trained ones
        live = result.model.get_input_embeddings().weight.detach()
        assert torch.equal(emb[ids].detach(), live[ids])
    # the end-of-turn marker is one token the model can emit, and chat stops on it
    tok = trained.tokenizer
    assert tok("<|im_end|>", add_special_tokens=False)["input_ids"] == [32001]
    prompt = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False)
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_new_rows_get_gradients_under_lora(spm_model_dir):
    from transformers import AutoTokenizer

    from tune.models.vocab import add_control_tokens
    from tune.train.run import build_model

    cfg = compose(None, [f"model.name_or_path={spm_model_dir}", "template=chatml", "method=lora"])
    tok = AutoTokenizer.from_pretrained(spm_model_dir)
    added = add_control_tokens(tok, NEW, "chatml")
    model = build_model(cfg, "fp32", tok, added)
    x = torch.tensor([[1, 32000, 500, 32001, 32001]])
    model(input_ids=x, labels=x).loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad and "trainable_tokens" in n}
    assert len(grads) == 2 and all(g is not None and g.abs().sum() > 0 for g in grads.values())


@pytest.mark.parametrize("method,extra,match", [
    ("ptuning_v2", [], "ptuning_v2 cannot train the embedding rows"),
    ("lora", ["template.add_missing_tokens=false"], "template.add_missing_tokens=true"),
])
def test_refused_up_front(spm_model_dir, tmp_path, method, extra, match):
    with pytest.raises(ConfigError, match=match):
        train(compose(None, overrides(spm_model_dir, tmp_path / "run", method, *extra)))
