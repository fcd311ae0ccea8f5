"""Runs under several processes (torchrun, accelerate launch): which process this is, and the process group."""
from __future__ import annotations

import os
from contextlib import contextmanager


def process_group():
    """torch.distributed when several processes share a group, else None."""
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1 else None


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def rank_zero_value(value):
    """Rank 0's value on every rank (e.g. a time-stamped folder name, which ranks would otherwise each pick)."""
    dist = process_group()
    if dist is None:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


@contextmanager
def main_process_first():
    """The main process runs the block first (e.g. writes a cache), the others after it (and read it)."""
    dist = process_group()
    main = is_main_process()
    if dist is not None and not main:
        dist.barrier()
    try:
        yield
    finally:
        if dist is not None and main:
            dist.barrier()


def leave_process_group() -> None:
    """End of a job: leave the group together, so no rank exits while gloo threads still serve another
    (seen as "terminate called without an active exception")."""
    dist = process_group()
    if dist is not None:
        dist.barrier()
        dist.destroy_process_group()
