"""What memory training itself uses: the process's high-water mark reset before the first step, so a log row's
peak is the training's, not the GGUF dequantising's or the data preparation's that came before it.

CPU: Linux's VmHWM (peak resident set), reset by writing 5 to /proc/self/clear_refs; ru_maxrss cannot be reset.
GPU: torch's max allocated bytes on the device, reset the same way."""
from __future__ import annotations

import os
import resource

GIB = 1024 ** 3


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _cuda():
    import torch
    return torch.cuda.is_available()


def resident_bytes() -> int:
    """This process's resident memory now (CPU)."""
    kib = _status_kib("VmRSS")
    return kib * 1024 if kib is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak() -> None:
    """Start a new high-water mark from what is resident now."""
    if _cuda():
        import torch
        torch.cuda.reset_peak_memory_stats()
        return
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:  # not Linux, or not allowed: the peak then covers the whole process
        pass


def peak_bytes() -> int:
    """The high-water mark since reset_peak: device bytes on GPU, resident bytes on CPU."""
    if _cuda():
        import torch
        return torch.cuda.max_memory_allocated()
    kib = _status_kib("VmHWM")
    return kib * 1024 if kib is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def available_bytes(local_world_size: int = 1) -> int | None:
    """What this process may still take: free device memory on GPU; on CPU MemAvailable shared by the ranks of
    this host. None where the system does not say."""
    if _cuda():
        import torch
        return torch.cuda.mem_get_info()[0]
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // max(local_world_size, 1)
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // max(local_world_size, 1)
    except (ValueError, OSError):
        return None
