"""P-Tuning v2's prefix starts as the model's own keys and values of a neutral text: the prefixed model's logits on
a prompt are the base model's logits on that text followed by the prompt (the layout peft reads is the one
written), so training starts from a working model instead of peft's random prefix."""
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tune.methods import get_method
from tune.methods.ptuning import NEUTRAL_TEXT


def test_the_prefix_is_the_models_own_context(tiny_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    method = get_method("ptuning_v2")
    config = method.Config(num_virtual_tokens=16)
    model = method.apply(AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32), config, None)
    assert "16 tokens" in method.initialise(model, config, tokenizer)
    prompt = tokenizer("What colour is snow?", add_special_tokens=False)["input_ids"]
    neutral = tokenizer(NEUTRAL_TEXT * 4, add_special_tokens=False)["input_ids"][:16]
    base = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32).eval()
    model.eval()
    with torch.no_grad():
        prefixed = model(input_ids=torch.tensor([prompt])).logits[0]
        together = base(input_ids=torch.tensor([neutral + prompt])).logits[0, len(neutral):]
    assert torch.allclose(prefixed, together, atol=1e-4), float((prefixed - together).abs().max())


def test_a_projected_prefix_keeps_its_own_initialisation(tiny_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    method = get_method("ptuning_v2")
    config = method.Config(num_virtual_tokens=4, prefix_projection=True)
    model = method.apply(AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32), config, None)
    assert method.initialise(model, config, tokenizer) is None
