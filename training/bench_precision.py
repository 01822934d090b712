"""Training speed, float32 vs bf16 autocast (train.py --precision), on this machine: the same steps train.py
takes (augmentation, forward over every iteration, losses, backward, SGD) on random batches, the two
precisions alternating so that both see the same machine load. Prints a table.

    /usr/bin/python3 -m training.bench_precision [--steps=8] [--shared=False] [--threads=2]
"""
from __future__ import annotations

import platform
import statistics
import sys
import time

import torch

from training.data import augment, normalize
from training.model import IamNN
from training.train import MEAN, PRECISIONS, STD, make_optimizer, parse_args, train_step


def main(argv: list[str]) -> None:
    steps = next((int(a.split("=")[1]) for a in argv if a.startswith("--steps=")), 8)
    tc, mc, _ = parse_args([a for a in argv if not a.startswith("--steps=")])
    torch.set_num_threads(tc.threads)
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (tc.batch_size, 3, 32, 32), dtype=torch.uint8, generator=gen)
    y = torch.randint(0, 10, (tc.batch_size,), generator=gen)
    runs = {}
    for precision in PRECISIONS:
        torch.manual_seed(tc.seed)
        model = IamNN(mc).to(tc.device).train()
        runs[precision] = (model, make_optimizer(model, tc), [])
    for step in range(steps + 1):  # step 0 warms up (oneDNN picks its kernels) and is not timed
        for precision, (model, opt, times) in runs.items():
            tc.precision = precision
            t0 = time.perf_counter()
            xb = augment(normalize(x, MEAN, STD), tc.translate, gen).to(tc.device)
            train_step(model, opt, xb, y.to(tc.device), None, tc.ponder_cost, tc)
            if step:
                times.append(time.perf_counter() - t0)
    base = statistics.median(runs["fp32"][2])
    print(f"{'shared' if mc.shared else 'unshared baseline'}, batch {tc.batch_size}, {steps} steps each, "
          f"{tc.device} ({platform.processor() or platform.machine()}), {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}")
    per_epoch = 50_000 // tc.batch_size
    print(f"| precision | median s/step | min s/step | s/epoch ({per_epoch} steps) | speed vs fp32 |\n|---|---|---|---|---|")
    for precision, (_, _, times) in runs.items():
        med = statistics.median(times)
        print(f"| {precision} | {med:.3f} | {min(times):.3f} | {med * per_epoch:.0f} | {base / med:.2f}x |")


if __name__ == "__main__":
    main(sys.argv[1:])
