"""Every method on the tiny model: the loss falls, frozen weights stay bit-identical, the saved result
reloads with the same logits, and the export loads without tune with the same logits."""

import pytest
import torch

from tests.helpers import metrics_rows
from tune import compose, train

METHODS = {
    "full": ["trainer.learning_rate=3e-3"],
    "freeze": ["trainer.learning_rate=3e-3", "method.trainable_layers=1", "method.train_lm_head=true"],
    "lora": ["trainer.learning_rate=1e-2", "method.target_modules=[all-linear]", "method.r=16"],
    "qlora": ["trainer.learning_rate=1e-2", "method.r=16"],
    "ptuning_v2": ["trainer.learning_rate=1e-2", "method.num_virtual_tokens=32", "method.prefix_projection=true",
                   "method.encoder_hidden_size=128"],
}


def base_state(tiny_dir):
    from transformers import AutoModelForCausalLM
    return {k: v.clone() for k, v in AutoModelForCausalLM.from_pretrained(tiny_dir).state_dict().items()}


@pytest.fixture(scope="module", params=list(METHODS))
def trained(request, tmp_path_factory, tiny_dir):
    name = request.param
    out = tmp_path_factory.mktemp(name)
    cfg = compose(None, [f"method={name}", "trainer.max_steps=30", "trainer.logging_steps=1",
                         "trainer.per_device_train_batch_size=4", "data.max_length=64", f"trainer.output_dir={out}",
                         "trainer.report_to=[]", "trainer.save_steps=1000"] + METHODS[name])
    return name, train(cfg)


def batch(tokenizer):
    enc = tokenizer(
        ["What is 3 plus 5?", "天空是什么颜色？"], add_special_tokens=False, return_tensors="pt", padding=True
    )
    return enc["input_ids"], enc["attention_mask"]


def logits(model, tokenizer):
    ids, mask = batch(tokenizer)
    model.eval()
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask, use_cache=False).logits


def test_loss_falls(trained):
    name, result = trained
    rows = metrics_rows(result.output_dir)
    losses = [r["loss"] for r in rows if "loss" in r]
    assert len(losses) >= 30 and all(set(r) >= {"step", "learning_rate"} for r in rows if "loss" in r)
    last = sum(losses[-5:]) / 5
    assert last < losses[0] - 0.4, (name, losses[0], last)
    assert result.output_dir and __import__("os").path.exists(f"{result.output_dir}/loss.png")


def test_frozen_weights_are_bit_identical(trained, tiny_dir):
    name, result = trained
    before = base_state(tiny_dir)
    if name == "full":
        pytest.skip("full fine-tuning freezes nothing")
    model = result.model
    if name in ("lora", "ptuning_v2"):
        after = model.get_base_model().state_dict()
        after = {k.replace(".base_layer", ""): v for k, v in after.items()}
        for key, value in before.items():
            assert torch.equal(after[key], value), key
    elif name == "freeze":
        after = model.state_dict()
        changed = {k for k in before if not torch.equal(after[k], before[k])}
        assert changed and all(k.startswith("model.layers.1.") or k == "lm_head.weight" for k in changed), changed
    elif name == "qlora":
        # The 4-bit base: every quantised weight still decodes to what loading the base gives.
        from tune.infer.load import load_base
        from tune.rundir import RunMeta

        fresh = load_base(RunMeta.read(result.model_dir), None, False, dequantize=False)
        ref = fresh.state_dict()
        after = {
            k.replace("base_model.model.", "").replace(".base_layer", ""): v
            for k, v in model.state_dict().items()
            if "lora_" not in k
        }
        for key, value in ref.items():
            assert torch.equal(after[key].cpu(), value.cpu()), key


def test_saved_result_reloads_with_same_logits(trained):
    from tune.infer.load import load_trained

    name, result = trained
    again = load_trained(result.output_dir)
    assert torch.allclose(logits(again.model, again.tokenizer), logits(result.model, result.tokenizer), atol=1e-5)


def test_export_loads_without_tune(trained, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from tune.errors import ConfigError
    from tune import export as export_model

    name, result = trained
    if name == "ptuning_v2":
        with pytest.raises(ConfigError, match="cannot be merged"):
            export_model(result.output_dir, str(tmp_path / "x"))
        return
    out = export_model(result.output_dir, str(tmp_path / "exported"))
    assert any(p.suffix == ".safetensors" for p in (tmp_path / "exported").iterdir())
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    tol = 5e-3 if name == "qlora" else 1e-4  # qlora: the 4-bit matmul vs the dequantised fp32 one
    assert torch.allclose(logits(model, tok), logits(result.model, result.tokenizer), atol=tol)


def test_saved_tokenizer_carries_the_training_template(trained):
    from transformers import AutoTokenizer
    from tune.data.conversation import Conversation, Message
    from tune.data.templates import get_template

    name, result = trained
    tok = AutoTokenizer.from_pretrained(result.model_dir)
    conv = Conversation([Message("user", "What is 2 plus 2?")])
    want = get_template("alpaca", tok).render_text(conv, add_generation_prompt=True)
    assert tok.apply_chat_template(conv.to_dicts(), tokenize=False, add_generation_prompt=True) == want


def test_generation_after_training(trained):
    from tune.data.conversation import Conversation, Message
    from tune.infer.generation import generate_replies
    from tune.infer.load import load_trained

    name, result = trained
    t = load_trained(result.output_dir)
    convs = [Conversation([Message("user", "What is 3 plus 5?")]), Conversation([Message("user", "天空是什么颜色？")])]
    replies = generate_replies(t.model, t.tokenizer, t.renderer, convs, max_new_tokens=8)
    # a left-padded batch answers as each conversation alone does, and no reply runs past a stop string
    assert replies == [generate_replies(t.model, t.tokenizer, t.renderer, [c], max_new_tokens=8)[0] for c in convs]
    assert not any(stop in r for r in replies for stop in t.renderer.stop_strings)


def test_ptuning_on_a_4bit_base_reloads_on_the_same_base(tmp_path):
    """The base comes back the way the method loaded it (4-bit here), so the reloaded adapter gives the same logits."""
    from tune.infer.load import load_trained

    result = train(
        compose(
            None,
            [
                "method=ptuning_v2",
                "method.num_virtual_tokens=8",
                "method.quantization_bit=4",
                "trainer.max_steps=3",
                "data.max_length=64",
                f"trainer.output_dir={tmp_path}",
                "trainer.report_to=[]",
                "trainer.save_steps=1000",
            ],
        )
    )
    again = load_trained(result.output_dir)
    assert torch.allclose(logits(again.model, again.tokenizer), logits(result.model, result.tokenizer), atol=1e-5)


def test_generation_continues_what_the_forward_pass_computes(trained):
    """Every method's greedy reply is the step-by-step argmax of the forward pass training used (no cache): a
    generation path that drops part of the model (peft's generate lost P-Tuning's prefix after the first token
    under transformers 5, so replies were the base model's) fails here."""
    from tune.data.conversation import Conversation, Message
    from tune.infer.generation import generate_ids, prompt_ids
    from tune.infer.load import load_trained

    name, result = trained
    t = load_trained(result.output_dir)
    ids = prompt_ids(t.renderer, t.tokenizer, [Conversation([Message("user", "What is 3 plus 5?")])])[0]
    seq = list(ids)
    with torch.no_grad():
        for _ in range(12):
            seq.append(int(t.model(input_ids=torch.tensor([seq])).logits[0, -1].argmax()))
    x = torch.tensor([ids])
    out = generate_ids(t.model, x, torch.ones_like(x), max_new_tokens=12, do_sample=False, eos_token_id=None,
                       pad_token_id=t.tokenizer.pad_token_id)
    assert out[0, len(ids):].tolist() == seq[len(ids):], name
