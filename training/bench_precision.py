"""Training speed, float32 vs bf16 autocast (train.py --precision), on this machine: the steps train.py takes
(augmentation, forward over every iteration, losses, backward, SGD) on real training batches. Each precision
runs in its own block of steps, in the order fp32, bf16, bf16, fp32, so that drift cancels (--precisions=bf16:
two bf16 blocks only). --ckpt starts from a trained network's architecture and weights (the recipe options still
come from the command line); without it, a fresh network of --arch and the model options, which runs every
iteration (a fresh IamNN's halting bias keeps every image running to its caps): the slowest step of a run.
--data and --augment as train.py takes them. --reference=CKPT interleaves a reference network's steps (main's
docstring). Prints a table; the README quotes it.

    /usr/bin/python3 -m training.bench_precision [--ckpt=training/checkpoints/iamnn-cifar10.pt] [--steps=8]
        [--shared=False --zero_init_last_bn=False] [--threads=2] [--precisions=bf16]
        [--data=tiny-imagenet-200 --augment=rrc --arch=resnet18] [--reference=training/checkpoints/iamnn-cifar10.pt]
        [--malloc=default]   # without training/allocator.py's thresholds (train.py sets them)
"""
from __future__ import annotations

import platform
import statistics
import sys
import time

import torch

from training.allocator import keep_freed_memory
from training.evaluate import build_model, load_ckpt, trained_source
from training.train import (PRECISIONS, TrainConfig, arch_config, augment_batch, fit_to_data, load_data, make_optimizer,
                            parse_args, train_step)

OWN_OPTIONS = ("--steps", "--ckpt", "--precisions", "--reference", "--malloc")


def step_timer(model: torch.nn.Module, tc: TrainConfig, x: torch.Tensor, y: torch.Tensor, norm: dict,
               gen: torch.Generator):
    """A function that runs training step k of `model` (batch k of x, cycling) at tc's recipe and precision as
    they are when it is called, and returns its seconds."""
    model.to(tc.device).train()
    opt, n = make_optimizer(model, tc), len(x) // tc.batch_size

    def step(k: int) -> float:
        idx = slice((k % n) * tc.batch_size, (k % n + 1) * tc.batch_size)
        t0 = time.perf_counter()
        xb = augment_batch(x[idx], norm, tc, gen).to(tc.device)
        train_step(model, opt, xb, y[idx].to(tc.device), None, tc.ponder_cost, tc)
        if tc.device.startswith("cuda"):
            torch.cuda.synchronize()  # the step's kernels, not just their launch
        return time.perf_counter() - t0
    return step


def reference_run(path: str, tc: TrainConfig, steps: int):
    """(a fresh step_timer factory, its config) for --reference: the checkpoint's network on its own data and recipe,
    on this run's device and threads."""
    ckpt = torch.load(path, map_location="cpu")
    rtc = TrainConfig(**{k: v for k, v in ckpt["train_config"].items() if k in TrainConfig.__dataclass_fields__})
    rtc.device, rtc.threads = tc.device, tc.threads
    data = load_data(trained_source(ckpt), rtc.image_size, limit_train=rtc.batch_size * steps, limit_test=1)
    return lambda gen: step_timer(load_ckpt(path)[0], rtc, data.x_train, data.y_train, ckpt["normalization"], gen), rtc


def main(argv: list[str]) -> None:
    """--reference=CKPT: after each timed step, one step of that checkpoint's network, so that the ratio of the two
    comes from steps that shared the machine's load (the shared 2-core machine's times vary several-fold)."""
    opts = dict(a.lstrip("-").partition("=")[::2] for a in argv if a.split("=")[0] in OWN_OPTIONS)
    tc, mc, given = parse_args([a for a in argv if a.split("=")[0] not in OWN_OPTIONS])
    steps = int(opts.get("steps", 8))
    precisions = tuple(opts.get("precisions", ",".join(PRECISIONS)).split(","))
    torch.set_num_threads(tc.threads)
    if opts.get("malloc") != "default":  # --malloc=default: glibc's own thresholds, to measure what allocator.py gives
        keep_freed_memory()  # as train.py does
    gen = torch.Generator().manual_seed(0)
    data = load_data(tc.data, tc.image_size, limit_test=1)
    per_epoch = len(data.x_train) // tc.batch_size
    x, y = data.x_train[:tc.batch_size * steps], data.y_train[:tc.batch_size * steps]
    arch, model_config = arch_config(tc, fit_to_data(mc, data, given, tc.data))
    reference, rtc = reference_run(opts["reference"], tc, steps) if opts.get("reference") else (None, None)
    times = {p: [] for p in precisions}
    ref_times = {p: [] for p in precisions}
    for precision in precisions + precisions[::-1]:
        model = load_ckpt(opts["ckpt"])[0] if opts.get("ckpt") else build_model(arch, model_config)
        tc.precision = precision
        step = step_timer(model, tc, x, y, data.normalization, gen)
        if reference:
            rtc.precision = precision
            ref_step = reference(gen)
        for k in range(steps + 1):  # step 0 warms up (oneDNN picks its kernels) and is not timed
            t, r = step(k), ref_step(k) if reference else None
            if k:
                times[precision].append(t)
                ref_times[precision].append(r)
    base = statistics.median(times["fp32"]) if "fp32" in times else None
    network = f"fresh {arch}" if arch != "iamnn" else (
        f"fresh {'IamNN' if mc.shared else 'unshared baseline'}, widths {'/'.join(map(str, mc.widths))}, "
        f"caps {'/'.join(map(str, mc.max_iters))}")
    print(f"{opts.get('ckpt') or network}, batch {tc.batch_size}, {data.input_size}x{data.input_size} "
          f"({tc.augment}), 2 x {steps} steps each, {tc.device} ({platform.machine()}), {torch.get_num_threads()} "
          f"threads, torch {torch.__version__}, malloc {opts.get('malloc') or 'keeps freed memory'}")
    print(f"| precision | median s/step | min s/step | s/epoch ({per_epoch} steps) | speed vs fp32 |\n|---|---|---|---|---|")
    for precision, ts in times.items():
        med = statistics.median(ts)
        speed = f"{base / med:.2f}x" if base else "-"
        print(f"| {precision} | {med:.3f} | {min(ts):.3f} | {med * per_epoch:.0f} | {speed} |")
    if reference:
        print(f"reference {opts['reference']}, each step after one of the above:\n"
              "| precision | reference median s/step | step / reference step: median | min | max |\n|---|---|---|---|---|")
        for precision, rs in ref_times.items():
            ratios = [t / r for t, r in zip(times[precision], rs)]
            print(f"| {precision} | {statistics.median(rs):.3f} | {statistics.median(ratios):.2f} | "
                  f"{min(ratios):.2f} | {max(ratios):.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
