"""LoRA's CPU dropout (tune.models.lora_dropout): the drop rate and scale of nn.Dropout, reproducible under a seed, the
gradient through the same mask, identity in eval; lora_A with the dropout inside gives the output and gradients of
lora_A(dropout(x)) with the same mask, keeping less for backward; every LoRA layer of an attached adapter uses it."""
import pytest
import torch
from torch import nn

from tune.models.lora_dropout import DroppedLinear, WordDropout, keep_mask, use_cpu_dropout


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


def _dropped_linear(p, in_features=96, out_features=8):
    torch.manual_seed(3)
    layer = nn.Linear(in_features, out_features, bias=False)
    layer.__class__ = DroppedLinear
    layer.cut = round(p * 65536)
    return layer


@pytest.mark.parametrize("autocast", [False, True])
def test_dropped_linear_is_linear_of_the_dropped_input(autocast):
    layer = _dropped_linear(0.1).train()
    x = torch.randn(2, 33, 96, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        torch.manual_seed(7)
        y = layer(x)
        torch.randn(5)  # the generator moves on before backward: the mask must not
        (y.float() ** 2).sum().backward()
        got = (y.detach(), x.grad.clone(), layer.weight.grad.clone())
        x.grad, layer.weight.grad = None, None
        torch.manual_seed(7)
        keep = keep_mask(x, layer.cut)
        ref = nn.functional.linear(x * keep * (65536 / (65536 - layer.cut)), layer.weight)
        (ref.float() ** 2).sum().backward()
    tol = dict(rtol=2e-2, atol=2e-2) if autocast else dict(rtol=1e-5, atol=1e-6)
    assert y.dtype == ref.dtype
    assert torch.allclose(got[0], ref.detach(), **tol)
    assert torch.allclose(got[1], x.grad, **tol)
    assert torch.allclose(got[2], layer.weight.grad, **tol)


def test_dropped_linear_keeps_the_input_not_a_dropped_copy():
    """What autograd holds for backward: x itself (which the layers beside it share), never a new activation."""
    layer = _dropped_linear(0.1).train()
    x = torch.randn(4, 64, 96, requires_grad=True)
    saved = []

    def pack(t):
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        layer(x)
    activations = [t for t in saved if t.numel() >= x.numel()]
    assert activations and all(t is x for t in activations)
    assert layer.eval()(x).shape == (4, 64, 8)


def test_every_lora_layer_gets_it(tiny_dir):
    from transformers import AutoModelForCausalLM

    from tune import compose
    from tune.methods.lora import attach

    cfg = compose(None, ["model=tiny", "method=lora", "method.target_modules=[all-linear]", "method.dropout=0.1"])
    peft_model = attach(AutoModelForCausalLM.from_pretrained(tiny_dir), cfg.method)
    lora_a = [a for m in peft_model.modules() if hasattr(m, "lora_dropout") for a in m.lora_A.values()]
    assert len(lora_a) == 7 * peft_model.config.num_hidden_layers
    assert all(type(a) is DroppedLinear and a.cut == round(0.1 * 65536) for a in lora_a)
    assert not any(isinstance(m, nn.Dropout) for m in peft_model.modules())
    assert use_cpu_dropout(peft_model) == 0  # nothing left to swap
    assert all(".lora_A." not in k or k.endswith(".weight") for k in peft_model.state_dict())


def test_dora_layers_get_the_cheaper_mask(tiny_dir):
    from transformers import AutoModelForCausalLM

    from tune import compose
    from tune.methods.lora import attach

    cfg = compose(None, ["model=tiny", "method=lora", "method.use_dora=true", "method.dropout=0.1"])
    peft_model = attach(AutoModelForCausalLM.from_pretrained(tiny_dir), cfg.method)
    dropouts = [d for m in peft_model.modules() if hasattr(m, "lora_dropout") for d in m.lora_dropout.values()]
    assert dropouts and all(type(d) is WordDropout for d in dropouts)
