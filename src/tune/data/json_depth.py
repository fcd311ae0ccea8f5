"""JSON a user's file can nest as deep as it likes: the limit tune reports, and decoding or encoding that a
finalizer run deep inside it cannot break."""
from __future__ import annotations

import gc

TOO_DEEP = "JSON nested too deeply to read (over Python's recursion limit)"


def without_cyclic_gc(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with cyclic GC paused. Inside a deeply nested value the C JSON decoder and encoder
    sit near Python's recursion limit, and cyclic GC may run at any allocation there: an unrelated object's
    finalizer (an abandoned generator's, a temporary file's) would then fail with RecursionError, printed as
    "Exception ignored" with its cleanup lost. Paused, the collection waits until ``fn`` has returned or raised."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return fn(*args, **kwargs)
    finally:
        if enabled:
            gc.enable()
