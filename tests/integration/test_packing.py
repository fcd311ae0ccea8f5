"""Packed rows give the same logits as each example alone, and no label crosses examples."""
import torch

from tune.data.collate import PackedCollator
from tune.data.labels import IGNORE_INDEX
from tune.data.packing import pack_examples


def test_packing_fits_rows_and_restarts_positions():
    ids = [[1] * 5, [2] * 3, [3] * 7, [4] * 2]
    packed = pack_examples(ids, [list(x) for x in ids], max_length=8)
    # best fit, longest first: 7 alone, 5 + 3 fill a row exactly, 2 opens a third (members in input order)
    assert sorted(map(sorted, packed["examples"])) == [[0, 1], [2], [3]]
    assert sorted(len(r) for r in packed["input_ids"]) == [2, 7, 8]
    assert sum(len(r) for r in packed["input_ids"]) == 17
    for row_ids, row_labels, row_pos in zip(packed["input_ids"], packed["labels"], packed["position_ids"]):
        starts = [i for i, p in enumerate(row_pos) if p == 0]
        assert all(row_labels[s] == IGNORE_INDEX for s in starts)  # no label predicts the next example's start
        for s, e in zip(starts, starts[1:] + [len(row_pos)]):
            assert row_pos[s:e] == list(range(e - s))


def test_packed_logits_equal_unpacked(tiny_model, tokenizer):
    model = tiny_model.eval()
    texts = ["Hello there, how are you?", "你好，世界。", "What is 3 plus 5? It is 8.", "a"]
    ids = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    packed = pack_examples(ids, ids, max_length=64)
    assert len(packed["input_ids"]) == 1
    batch = PackedCollator(tokenizer.pad_token_id)([{k: v[0] for k, v in packed.items()}])
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        offset = 0
        assert packed["examples"][0] == [0, 1, 2, 3]  # a row keeps its members in input order
        for i in packed["examples"][0]:
            alone = model(input_ids=torch.tensor([ids[i]]), use_cache=False).logits[0]
            assert torch.allclose(out[offset: offset + len(ids[i])], alone, atol=1e-4), texts[i]
            offset += len(ids[i])
