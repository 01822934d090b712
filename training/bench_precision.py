"""Training speed, float32 vs bf16 autocast (train.py --precision), on this machine: the steps train.py takes
(augmentation, forward over every iteration, losses, backward, SGD) on real training batches. Each precision
runs in its own block of steps, in the order fp32, bf16, bf16, fp32, so that drift cancels. --ckpt starts
from a trained network's architecture and weights (the recipe options still come from the command line).
Prints a table; the README quotes it.

    /usr/bin/python3 -m training.bench_precision [--ckpt=training/checkpoints/iamnn-cifar10.pt] [--steps=8]
        [--shared=False --zero_init_last_bn=False] [--threads=2]
"""
from __future__ import annotations

import platform
import statistics
import sys
import time

import torch

from training.data import augment, load_split, normalize, to_tensor
from training.evaluate import load_ckpt
from training.model import IamNN
from training.train import MEAN, PRECISIONS, STD, make_optimizer, parse_args, train_step


def main(argv: list[str]) -> None:
    opts = dict(a.lstrip("-").partition("=")[::2] for a in argv if a.split("=")[0] in ("--steps", "--ckpt"))
    tc, mc, _ = parse_args([a for a in argv if a.split("=")[0] not in ("--steps", "--ckpt")])
    steps = int(opts.get("steps", 8))
    torch.set_num_threads(tc.threads)
    gen = torch.Generator().manual_seed(0)
    xs, ys = load_split(tc.data, "train")
    x, y = to_tensor(xs[:tc.batch_size * steps]), torch.from_numpy(ys[:tc.batch_size * steps])
    times = {p: [] for p in PRECISIONS}
    for precision in PRECISIONS + PRECISIONS[::-1]:
        model = load_ckpt(opts["ckpt"])[0] if opts.get("ckpt") else IamNN(mc)
        model.to(tc.device).train()
        opt, tc.precision = make_optimizer(model, tc), precision
        for step in range(steps + 1):  # step 0 warms up (oneDNN picks its kernels) and is not timed
            idx = slice((step % steps) * tc.batch_size, (step % steps + 1) * tc.batch_size)
            t0 = time.perf_counter()
            xb = augment(normalize(x[idx], MEAN, STD), tc.translate, gen).to(tc.device)
            train_step(model, opt, xb, y[idx].to(tc.device), None, tc.ponder_cost, tc)
            if tc.device.startswith("cuda"):
                torch.cuda.synchronize()  # the step's kernels, not just their launch
            if step:
                times[precision].append(time.perf_counter() - t0)
    base = statistics.median(times["fp32"])
    per_epoch = len(xs) // tc.batch_size
    print(f"{opts.get('ckpt') or ('fresh IamNN' if mc.shared else 'fresh unshared baseline')}, batch {tc.batch_size}, "
          f"2 x {steps} steps each, {tc.device} ({platform.machine()}), {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}")
    print(f"| precision | median s/step | min s/step | s/epoch ({per_epoch} steps) | speed vs fp32 |\n|---|---|---|---|---|")
    for precision, ts in times.items():
        med = statistics.median(ts)
        print(f"| {precision} | {med:.3f} | {min(ts):.3f} | {med * per_epoch:.0f} | {base / med:.2f}x |")


if __name__ == "__main__":
    main(sys.argv[1:])
