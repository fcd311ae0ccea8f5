"""Saved models stop at the template's end of turn outside tune: an export through plain transformers
(apply_chat_template + generate with no stop arguments), and a LoRA adapter through peft with the adapter's
own generation_config.json, while the base's config (eos only) runs on past the end of turn."""
import json
import os

import pytest
import torch

from tune import compose, export, train

PAIRS = [("What colour is snow?", "White."), ("What is 2 plus 2?", "Four."), ("Name a fruit.", "An apple."),
         ("Is fire hot?", "Yes, very."), ("What do cows drink?", "Water."), ("Say hello.", "Hello there!"),
         ("What is the opposite of up?", "Down."), ("How many legs has a cat?", "Four legs.")]


@pytest.fixture(scope="module")
def chatml_run(tmp_path_factory):
    """The tiny model fully trained on chatml until it ends its answers with <|im_end|>."""
    tmp = tmp_path_factory.mktemp("stops")
    data = tmp / "qa.jsonl"
    data.write_text("".join(json.dumps({"instruction": q, "output": a}) + "\n" for q, a in PAIRS), encoding="utf-8")
    cfg = compose(None, [f"data.path={data}", "data.format=alpaca", "template=chatml", "method=full",
                         "data.max_length=64", "trainer.max_steps=60", "trainer.per_device_train_batch_size=8",
                         "trainer.learning_rate=3e-3", "trainer.lr_scheduler_type=constant", "trainer.save_steps=30",
                         "trainer.logging_steps=10", "trainer.report_to=[]", f"trainer.output_dir={tmp / 'run'}"])
    result = train(cfg)
    return tmp, result


def generate_plain(model, tokenizer, question, **kwargs):
    ids = tokenizer.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True,
                                        return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=40, do_sample=False, **kwargs)
    return out[0, ids["input_ids"].shape[1]:].tolist()


def test_export_stops_at_end_of_turn_in_plain_transformers(chatml_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp, result = chatml_run
    out = export(result.output_dir, str(tmp / "export"))
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    eos = json.load(open(os.path.join(out, "generation_config.json")))["eos_token_id"]
    assert eos == [tok.eos_token_id, im_end]
    new = generate_plain(model, tok, PAIRS[0][0])
    assert new[-1] == im_end and len(new) < 40, tok.decode(new)
    assert tok.decode(new[:-1]).strip() == PAIRS[0][1]
    # checkpoints carry it too
    ckpt = json.load(open(os.path.join(result.output_dir, "checkpoint-30", "generation_config.json")))
    assert ckpt["eos_token_id"] == [tok.eos_token_id, im_end]


def test_adapter_carries_its_generation_config(chatml_run):
    """A LoRA run on a base whose generation config knows only </s>: peft + the adapter's GenerationConfig stop."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    tmp, result = chatml_run
    base_dir = export(result.output_dir, str(tmp / "base"))
    tok = AutoTokenizer.from_pretrained(base_dir)
    config = GenerationConfig.from_pretrained(base_dir)
    config.eos_token_id = tok.eos_token_id  # a hub base: eos only
    config.save_pretrained(base_dir)
    data = tmp / "qa.jsonl"
    cfg = compose(None, [f"model.name_or_path={base_dir}", f"data.path={data}", "data.format=alpaca", "template=chatml",
                         "method=lora", "data.max_length=64", "trainer.max_steps=2", "trainer.learning_rate=1e-5",
                         "trainer.report_to=[]", f"trainer.output_dir={tmp / 'lora'}", "trainer.save_steps=1000"])
    adapter_dir = train(cfg).model_dir
    im_end = tok.convert_tokens_to_ids("<|im_end|>")

    # the two lines the README shows
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir), adapter_dir)
    generation_config = GenerationConfig.from_pretrained(adapter_dir)

    assert generation_config.eos_token_id == [tok.eos_token_id, im_end]
    stopped = generate_plain(model, tok, PAIRS[0][0], generation_config=generation_config)
    assert stopped[-1] == im_end and len(stopped) < 40
    ran_on = generate_plain(model, tok, PAIRS[0][0])  # the base's config: no stop at <|im_end|>
    assert len(ran_on) > len(stopped) and im_end in ran_on
