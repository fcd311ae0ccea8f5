"""Length grouping by global batch: every example once per epoch, the same examples in each optimiser step
whatever the split, little padding on uneven (ShareGPT-like) lengths, longest step first, reseeded per epoch."""
import random

import pytest

from tune.data.batching import GlobalBatchLengthSampler, global_batch_order, padding_fraction


def lognormal_lengths(n=2000, seed=0):
    rng = random.Random(seed)
    return [max(8, min(2048, int(rng.lognormvariate(5.5, 0.9)))) for _ in range(n)]


def steps_seen(order, per_device, accumulation, ranks):
    """The example sets of each optimiser step as accelerate hands them out: rank r takes micro-batches r, r+W, ..."""
    micro = [order[k:k + per_device] for k in range(0, len(order), per_device)]
    per_step = accumulation * ranks
    return [sorted(i for mb in micro[s:s + per_step] for i in mb) for s in range(0, len(micro), per_step)]


def test_every_example_once_and_reseeded_per_epoch():
    lengths = lognormal_lengths(1001)
    s = GlobalBatchLengthSampler(lengths, global_batch=16, seed=3)
    first = list(s)
    assert sorted(first) == list(range(1001))
    s.set_epoch(1)
    second = list(s)
    assert sorted(second) == list(range(1001)) and second != first
    s.set_epoch(0)
    assert list(s) == first  # deterministic: resume skips into the same order


@pytest.mark.parametrize("split", [(2, 2, 1), (1, 4, 1), (2, 1, 2), (1, 1, 4)])
def test_optimiser_steps_see_the_same_examples_whatever_the_split(split):
    lengths = lognormal_lengths(403)
    order = global_batch_order(lengths, global_batch=4, seed=7)
    assert steps_seen(order, *split) == steps_seen(order, 4, 1, 1)


def test_padding_under_ten_percent_on_sharegpt_like_lengths():
    lengths = lognormal_lengths()
    grouped = global_batch_order(lengths, global_batch=8, seed=0)
    shuffled = list(range(len(lengths)))
    random.Random(0).shuffle(shuffled)
    assert padding_fraction(lengths, grouped, 8) < 0.10
    assert padding_fraction(lengths, shuffled, 8) > 0.40  # what random batches waste on the same data


def test_longest_step_first_and_the_partial_step_last():
    lengths = lognormal_lengths(103)
    order = global_batch_order(lengths, global_batch=10, seed=1)
    assert max(lengths) == lengths[order[0]]
    for k in range(0, 100, 10):  # within a step, longest first: micro-batches of neighbouring lengths
        step = [lengths[i] for i in order[k:k + 10]]
        assert step == sorted(step, reverse=True)
    assert len(order) == 103 and len(set(order)) == 103  # the 3 left over make the last, partial step
