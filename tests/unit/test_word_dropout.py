"""LoRA's CPU dropout (tune.methods.dropout): the drop rate and scale of nn.Dropout, reproducible under a seed, the
gradient through the same mask, identity in eval; every LoRA layer of an attached adapter uses it."""
import pytest
import torch
from torch import nn

from tune.methods.dropout import WordDropout, use_word_dropout


@pytest.mark.parametrize("p", [0.05, 0.1, 0.5])
def test_drop_rate_and_scale_are_dropouts(p):
    torch.manual_seed(0)
    x = torch.ones(1000, 1000)
    y = WordDropout(p).train()(x)
    dropped = (y == 0).float().mean().item()
    assert abs(dropped - p) < 5 * (p * (1 - p) / x.numel()) ** 0.5 + 1 / 65536
    kept = y[y != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / (1 - p)), rtol=1e-4)  # the scale of the set rate
    assert abs(y.mean().item() - 1) < 0.005  # the expectation is the input's


def test_masks_differ_between_calls_and_repeat_under_a_seed():
    x = torch.randn(64, 577)  # not a multiple of four elements
    d = WordDropout(0.3).train()
    torch.manual_seed(1)
    a, b = d(x), d(x)
    torch.manual_seed(1)
    assert torch.equal(d(x), a)
    assert not torch.equal(a, b)
    assert a.shape == x.shape and a.dtype == x.dtype


def test_gradient_goes_through_the_same_mask_and_eval_is_identity():
    x = torch.randn(8, 96, requires_grad=True)
    d = WordDropout(0.2).train()
    y = d(x)
    y.sum().backward()
    assert torch.equal(x.grad, (y != 0).float() / (1 - d.cut / 65536))
    assert d.eval()(x) is x
    assert WordDropout(0.0).train()(x) is x


def test_bf16_input_keeps_its_dtype():
    y = WordDropout(0.1).train()(torch.ones(16, 16, dtype=torch.bfloat16))
    assert y.dtype == torch.bfloat16


def test_every_lora_layer_gets_it(tiny_dir):
    from transformers import AutoModelForCausalLM

    from tune import compose
    from tune.methods.lora import attach

    cfg = compose(None, ["model=tiny", "method=lora", "method.target_modules=[all-linear]", "method.dropout=0.1"])
    peft_model = attach(AutoModelForCausalLM.from_pretrained(tiny_dir), cfg.method)
    dropouts = [d for m in peft_model.modules() if hasattr(m, "lora_dropout") for d in m.lora_dropout.values()]
    assert len(dropouts) == 7 * peft_model.config.num_hidden_layers
    assert all(isinstance(d, WordDropout) and d.p == 0.1 for d in dropouts)
    assert not any(type(m) is nn.Dropout and m.p > 0 for m in peft_model.modules())
    assert use_word_dropout(peft_model) == 0  # nothing left to swap
