"""Keep freed memory in the process instead of handing it back to the kernel after every tensor.

glibc's malloc serves each allocation above its mmap threshold (at most 32 MiB, adapting upwards from 128 KiB) with
a fresh mmap and returns it with munmap on free; a training step here allocates and frees hundreds of activation
tensors of that size, and the kernel zero-fills every page of each new mapping on first touch. On this project's
2-core AMD EPYC (Debian torch 1.13, bf16, batch 256) a training step ran 5.6x faster with the thresholds below on
Tiny-ImageNet and 2.5x on CIFAR-10 (`training.bench_precision --malloc=default` measures without them;
docs/training.md, "Training speed: the allocator"). Raising the mmap and trim thresholds makes malloc
reuse its heap: the process keeps its peak memory (a few GiB here) until it exits.
"""
from __future__ import annotations

import ctypes
import ctypes.util

# mallopt parameters (glibc's malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3


def keep_freed_memory() -> bool:
    """Set glibc's thresholds so that freed tensors stay in the heap for the next step. False where the C library
    is not glibc (nothing changes there). Affects allocations made after the call."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mmap only single allocations above 1 GiB, never trim the heap's top (the largest int), grow it 256 MiB at a time
    return all(mallopt(p, v) == 1 for p, v in ((M_MMAP_THRESHOLD, 1 << 30), (M_TRIM_THRESHOLD, (1 << 31) - 1),
                                                (M_TOP_PAD, 1 << 28)))
