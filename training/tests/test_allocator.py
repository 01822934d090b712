"""training/allocator.py: glibc takes the thresholds (this project's machines run Debian's glibc), and a training
step still runs after them."""
import platform

import pytest
import torch

from training.allocator import keep_freed_memory
from training.model import IamNN, ModelConfig


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_the_thresholds():
    assert keep_freed_memory() is True


def test_tensors_allocate_and_free_after_it():
    keep_freed_memory()
    model = IamNN(ModelConfig(stem_channels=4, widths=(4, 8), bottlenecks=(2, 4), max_iters=(2, 3), act_hidden=8))
    for _ in range(2):  # the second step reuses what the first freed
        logits = model(torch.randn(8, 3, 32, 32))[0]
        logits.sum().backward()
        assert torch.isfinite(logits).all()
        big = torch.ones(64 << 20, dtype=torch.uint8)  # above glibc's default mmap threshold (32 MiB at most)
        assert int(big[-1]) == 1
        del big
