"""Logits only at labelled positions, in chunks: the same loss (1e-5, fp32) and the same gradients as the full
(batch x length x vocab) computation, for every method, padded and packed, with chunks recomputed in backward."""
import pytest
import torch

from tune import compose
from tune.data.collate import PackedCollator, PaddingCollator
from tune.data.labels import IGNORE_INDEX
from tune.data.packing import pack_examples
from tune.loss import _KeepLabelledPositions, causal_lm_loss, labelled_token_loss, output_head

METHOD_OVERRIDES = {
    "full": [],
    "freeze": ["method.trainable_layers=1", "method.train_lm_head=true"],
    "lora": ["method.target_modules=[all-linear]", "method.dropout=0"],
    "qlora": ["method.dropout=0"],
    "ptuning_v2": ["method.num_virtual_tokens=4"],
}


def examples():
    """Uneven lengths; prompt tokens unlabelled, two answers in the second (multi-turn), none in the third."""
    g = torch.Generator().manual_seed(0)
    rows = []
    for n, spans in ((9, [(5, 9)]), (23, [(4, 9), (15, 23)]), (6, []), (17, [(2, 17)])):
        ids = torch.randint(5, 250, (n,), generator=g).tolist()
        labels = [IGNORE_INDEX] * n
        for a, b in spans:
            labels[a:b] = ids[a:b]
        rows.append({"input_ids": ids, "labels": labels})
    return rows


def padded_batch(tokenizer):
    return PaddingCollator(tokenizer.pad_token_id)(examples())


def packed_batch(tokenizer):
    rows = examples()
    cols = pack_examples([r["input_ids"] for r in rows], [r["labels"] for r in rows], max_length=32)
    return PackedCollator(tokenizer.pad_token_id)([dict(zip(cols, v)) for v in zip(*cols.values())])


def method_model(name):
    from tune.methods import get_method
    from tune.models.load import load_model

    cfg = compose(None, [f"method={name}", *METHOD_OVERRIDES[name]])
    method = get_method(name)
    model = load_model(cfg.model, torch_dtype=torch.float32, **method.load_kwargs(cfg.method, torch.float32))
    return method.apply(model, cfg.method, cfg.trainer)


def loss_and_grads(model, batch, labelled: bool, chunk_tokens: int):
    model.zero_grad(set_to_none=True)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    if labelled:
        loss, _ = labelled_token_loss(model, inputs, batch["labels"], num_items_in_batch=37, chunk_tokens=chunk_tokens)
    else:
        loss = causal_lm_loss(model(**inputs), batch["labels"], num_items_in_batch=37)
    loss.backward()
    return loss.detach(), {
        n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad and p.grad is not None
    }


@pytest.mark.parametrize("method", list(METHOD_OVERRIDES))
@pytest.mark.parametrize("layout", ["padded", "packed"])
def test_same_loss_and_gradients_as_full_logits(method, layout, tokenizer):
    torch.manual_seed(0)
    model = method_model(method)
    model.train()
    batch = (padded_batch if layout == "padded" else packed_batch)(tokenizer)
    full_loss, full_grads = loss_and_grads(model, batch, labelled=False, chunk_tokens=0)
    for chunk in (0, 5):  # one chunk, and chunks of 5 positions recomputed in backward
        loss, grads = loss_and_grads(model, batch, labelled=True, chunk_tokens=chunk)
        assert torch.allclose(loss, full_loss, atol=1e-5, rtol=0), (chunk, float(loss), float(full_loss))
        assert grads.keys() == full_grads.keys() and grads
        for name, g in grads.items():
            assert torch.allclose(g, full_grads[name], atol=1e-5, rtol=1e-4), (chunk, name)


def test_the_head_sees_only_labelled_positions(tiny_model, tokenizer):
    """No (batch x length x vocab) tensor: the model's own logits are empty, the head's input is the labelled rows."""
    batch = padded_batch(tokenizer)
    head, vocab = output_head(tiny_model)
    seen = []
    handle = head.register_forward_hook(lambda m, a, out: seen.append(tuple(out.shape)))
    try:
        loss, outputs = labelled_token_loss(
            tiny_model, {k: v for k, v in batch.items() if k != "labels"}, batch["labels"]
        )
    finally:
        handle.remove()
    n_labelled = int(batch["labels"][:, 1:].ne(IGNORE_INDEX).sum())
    assert outputs.logits.shape[1] == 0
    assert seen == [(4, 0, vocab), (n_labelled, vocab)], seen
    assert vocab == tiny_model.config.vocab_size


def test_no_labelled_token_gives_zero_loss_with_a_graph(tiny_model, tokenizer):
    rows = [{"input_ids": [5, 6, 7], "labels": [IGNORE_INDEX] * 3}]
    batch = PaddingCollator(tokenizer.pad_token_id)(rows)
    loss, _ = labelled_token_loss(tiny_model, {"input_ids": batch["input_ids"]}, batch["labels"])
    assert float(loss) == 0.0
    loss.backward()


def test_misaligned_hidden_states_leave_the_head_alone():
    """A head call that does not line up with the labels (another shape) gets full logits, not a wrong slice."""
    keep = _KeepLabelledPositions(torch.ones(2, 5, dtype=torch.bool))
    assert keep(None, (torch.zeros(2, 6, 3),)) is None and keep.hidden is None
    assert keep(None, (torch.zeros(2, 5, 3),))[0].shape == (2, 0, 3) and keep.hidden.shape == (10, 3)


def test_wrappers_are_seen_through(tiny_model):
    """DDP/DeepSpeed wrap the model in `.module`: the head and the vocabulary come from the model inside (a
    DeepSpeed engine's own `config` is DeepSpeed's, which would lose the chunk size)."""

    class Engine(torch.nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module
            self.config = object()

    head, vocab = output_head(Engine(tiny_model))
    assert head is tiny_model.get_output_embeddings() and vocab == tiny_model.config.vocab_size
