"""IamNN (Leroux et al.) and its unshared-ResNet baseline, in PyTorch.

Every stage replaces a stack of residual units by ONE bottleneck block applied iteratively:
    x0 = stage input, s_0 = 0
    h_i = block_i(concat(x0, s_{i-1}))            shared convs, iteration i's own batchnorm
    p_i = sigmoid(ACT(GAP(concat(s_{i-1}, x0, h_i))))
    s_i = s_{i-1} + h_i
    N   = first n with p_1 + ... + p_n >= 1 - eps, else T (the stage's maximum)
    y   = sum_{i<N} p_i s_i + R s_N,  R = 1 - sum_{i<N} p_i          (Graves' ACT)
Stage output relu(y) feeds a 2x2 max-pool and the next stage; the head is GAP -> linear.
docs/model-format.md is the single source of truth for this function; the TypeScript runtime
computes the same one.

`forward` (training and evaluation) runs every iteration for every image and masks with the halting
weights, so each iteration's batchnorm sees full batches; `forward_early_exit` really stops each
image at N, which is what the browser runtime does. Both give the same outputs in eval mode
(training/tests/test_model.py proves it).

    /usr/bin/python3 -m training.model   # prints params and FLOPs of the CIFAR-10 and Tiny-ImageNet configs
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelConfig:
    """The network. The defaults are the CIFAR-10 IamNN (32x32 input; three stages at 16/8/4 px). Any number of
    stages works: each after the first starts with a 2x2 max-pool. TINY_IMAGENET below is the four-stage network
    for 64x64 images, the paper's ImageNet layout (stem, then four iterative stages with max-pools between)."""
    num_classes: int = 10
    stem_channels: int = 64               # conv3x3 -> BN -> ReLU at full resolution
    stem_pool: bool = True                # 2x2 max-pool after the stem: stages run at 16/8/4 px
    widths: tuple = (64, 128, 256)        # state channels C of each stage
    bottlenecks: tuple = (32, 64, 128)    # bottleneck width b = C/2
    max_iters: tuple = (2, 4, 12)         # mirrors a 56-layer bottleneck ResNet with 2/4/12 units
    act_hidden: int = 64                  # ACT head: FC 64 -> FC 64 -> FC 1
    halt_bias: float = -3.0               # sigmoid(-3) ~ 0.05: start near "run every iteration"
    eps: float = 0.01                     # halt once cumulative p >= 1 - eps
    shared: bool = True                   # False: the baseline, unshared weights, no ACT, always T
    stage_output: str = "act"             # "act": Graves' mixture sum p_i s_i + R s_N (the shipped model); "state": the
                                          # state at the halting step, s_N, every iteration up to N at full weight; the
                                          # halting heads learn through the mixture of the (detached) states, straight-
                                          # through. An experiment (docs/training.md): the browser computes "act" only
    zero_init_last_bn: bool = True        # last BN of the block starts at 0 (the shipped IamNN was trained so; it
                                          # escapes the all-zero start through the ponder cost's gradient, the
                                          # baseline has no ponder cost and must start at 1: --zero_init_last_bn=False)
    input_size: int = 32                  # side of the square input it is trained and shipped for (train.py sets it
                                          # from the data): its FLOPs table and model.json's input. The network itself
                                          # is convolutional up to a global average pool and takes any size


# The four-stage IamNN for Tiny-ImageNet (64x64, 200 classes; docs/training.md, "Tiny-ImageNet"). Stem: 3x3 conv (64)
# and a 2x2 max-pool, so the stages run at 32/16/8/4 px. Widths double as the resolution halves (64 to 512),
# bottlenecks C/2 as in the CIFAR network, so one iteration costs about the same in every stage (31.5 / 29.4 /
# 29.5 / 29.5 MFLOPs). The caps follow the parameters: stage 4 holds two thirds of them and gets 10 iterations (at 4x4 px
# its convs are the cheapest per parameter), stage 3 gets 6, the two large-resolution stages 2 and 3, so that
# sharing cuts the network to 14.0% of the unshared baseline (1,525,516 against 10,887,176 parameters; the
# issue's target is <= 15%). FLOPs: 134 M at 1 iteration per stage, 638 M at the caps; ResNet-18 (resnet.py) is
# 1,122 M. With caps 2/4/8/8 the ratio would be 15.9%. Its training step time is measured in docs/training.md.
# The mirror vote's default gate (docs/model-format.md): an image whose top class probability after the first pass is
# below this is classified again mirrored left-right, and the two passes' logits are averaged. On the shipped CIFAR-10
# model 0.8 mirrors 27% of the test images and gets all of a mirror on every image's gain (docs/training.md). A
# runtime setting, not a weight: export.py writes it to model.json, evaluate.py's shipped row uses it.
MIRROR_BELOW = 0.8

TINY_IMAGENET = ModelConfig(num_classes=200, input_size=64, stem_channels=64, widths=(64, 128, 256, 512),
                            bottlenecks=(32, 64, 128, 256), max_iters=(2, 3, 6, 10))


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 convs; `n_bn` sets of batchnorm (one per iteration when shared)."""

    def __init__(self, cin: int, b: int, cout: int, n_bn: int, zero_init_last_bn: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, b, 1, bias=False)
        self.conv2 = nn.Conv2d(b, b, 3, padding=1, bias=False)
        self.conv3 = nn.Conv2d(b, cout, 1, bias=False)
        self.bn1 = nn.ModuleList(nn.BatchNorm2d(b) for _ in range(n_bn))
        self.bn2 = nn.ModuleList(nn.BatchNorm2d(b) for _ in range(n_bn))
        self.bn3 = nn.ModuleList(nn.BatchNorm2d(cout) for _ in range(n_bn))
        if zero_init_last_bn:
            for bn in self.bn3:
                nn.init.zeros_(bn.weight)

    def forward(self, x: torch.Tensor, i: int) -> torch.Tensor:
        x = F.relu(self.bn1[i](self.conv1(x)))
        x = F.relu(self.bn2[i](self.conv2(x)))
        return self.bn3[i](self.conv3(x))


def sum_dtype(t: torch.Tensor) -> torch.dtype:
    """float32, or float64 for a float64 model: the dtype of everything ACT sums (state, halting scores and
    their running sum, the halting-weighted output, the ponder cost). Under bf16 autocast (train.py
    --precision=bf16) the convs and FCs run in bf16, but halting compares running sums against
    1 - eps = 0.99, which bf16's 8-bit mantissa cannot resolve (0.99 rounds to 0.98828125)."""
    return torch.promote_types(t.dtype, torch.float32)


class ActHead(nn.Module):
    def __init__(self, cin: int, hidden: int, bias: float):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(cin, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, 1)
        nn.init.constant_(self.fc3.bias, bias)

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        # the halting score leaves the FCs (bf16 under autocast, like the convs) in full precision, sum_dtype;
        # the FCs themselves stay in bf16: with autocast off around them a bf16 training step was 1.27x slower
        # on this 2-core CPU (a one-off A/B of the two variants, not kept as a benchmark)
        score = self.fc3(F.relu(self.fc2(F.relu(self.fc1(g)))))
        return torch.sigmoid(score.to(sum_dtype(score))).squeeze(1)


class Stage(nn.Module):
    def __init__(self, cin: int, c: int, b: int, t: int, cfg: ModelConfig):
        super().__init__()
        self.t, self.eps, self.shared = t, cfg.eps, cfg.shared
        if cfg.stage_output not in ("act", "state"):
            raise ValueError(f"stage_output={cfg.stage_output!r}: valid values are 'act', 'state'")
        self.state_output = cfg.stage_output == "state"
        if cfg.shared:
            self.block = Bottleneck(cin + c, b, c, t, cfg.zero_init_last_bn)
            self.act = ActHead(2 * c + cin, cfg.act_hidden, cfg.halt_bias)
        else:
            self.blocks = nn.ModuleList(Bottleneck(cin + c, b, c, 1, cfg.zero_init_last_bn) for _ in range(t))

    def step(self, x0: torch.Tensor, s: torch.Tensor, i: int):
        """One iteration: returns (h_i, p_i); p_i is None for the baseline."""
        z = torch.cat([x0, s], 1)
        if not self.shared:
            return self.blocks[i](z, 0), None
        h = self.block(z, i)
        g = torch.cat([s.mean((2, 3)), x0.mean((2, 3)), h.mean((2, 3))], 1)
        return h, self.act(g)

    def forward(self, x0: torch.Tensor, t: int | None = None, eps: float | None = None, halting: bool = True,
                weights: list | None = None):
        """Masked ACT over all iterations. Returns (y, n_iters[int, B], remainder[B] or None for the baseline).
        halting=False (an ablation): every iteration runs and the output is the final state s_t, as in the
        baseline, with no halting weights. `weights`: if given, each iteration's ACT weight [B] in y (p_i, R at
        the halting step, 0 after it) is appended to it."""
        t = self.t if t is None else min(t, self.t)
        eps = self.eps if eps is None else eps
        bsz = x0.shape[0]
        s = x0.new_zeros(bsz, self.block.conv3.out_channels if self.shared else self.blocks[0].conv3.out_channels,
                         *x0.shape[2:], dtype=sum_dtype(x0))
        if not self.shared or not halting:
            for i in range(t):
                s = s + self.step(x0, s, i)[0]
            return s, torch.full((bsz,), t, dtype=torch.long, device=x0.device), None
        y = torch.zeros_like(s)
        cum = s.new_zeros(bsz)
        running = torch.ones(bsz, dtype=torch.bool, device=x0.device)
        n_iters = torch.full((bsz,), t, dtype=torch.long, device=x0.device)
        remainder = s.new_zeros(bsz)
        at_halt = torch.zeros_like(s) if self.state_output else None
        for i in range(t):
            h, p = self.step(x0, s, i)
            s = s + h
            halt = running if i == t - 1 else running & (cum + p >= 1 - eps)  # the last iteration always halts
            w = torch.where(halt, 1 - cum, torch.where(running, p, torch.zeros_like(p)))
            if self.state_output:  # the mixture only carries the halting heads' gradient: its states are detached
                y = y + w.view(-1, 1, 1, 1) * s.detach()
                at_halt = torch.where(halt.view(-1, 1, 1, 1), s, at_halt)
            else:
                y = y + w.view(-1, 1, 1, 1) * s
            if weights is not None:
                weights.append(w)
            remainder = torch.where(halt, 1 - cum, remainder)
            n_iters = torch.where(halt, torch.full_like(n_iters, i + 1), n_iters)
            cum = cum + torch.where(running, p, torch.zeros_like(p))
            running = running & ~halt
            if not running.any():
                # Every image has halted: the iterations left would add w = 0 to y, n_iters, the remainder and
                # every gradient alike, so stopping here changes nothing but the time: a training step of the
                # shipped model took 1.6 s instead of 2.5 (medians of a one-off A/B, 1 thread, AMD EPYC, busy
                # machine). What it skips: those iterations' batchnorm running statistics, which an image
                # reaches at test time only where some training batch ran it too.
                break
        if self.state_output:  # forward: exactly s_N; backward: s_N's gradient to the blocks, the mixture's to the heads
            y = at_halt + (y - y.detach())
        return y, n_iters, remainder

    @torch.no_grad()
    def forward_early_exit(self, x0: torch.Tensor, t: int | None = None, eps: float | None = None):
        """Per-image early exit: rows leave the batch once halted (what the runtime does)."""
        if not self.shared:
            return self.forward(x0, t, eps)
        t = self.t if t is None else min(t, self.t)
        eps = self.eps if eps is None else eps
        bsz = x0.shape[0]
        s = x0.new_zeros(bsz, self.block.conv3.out_channels, *x0.shape[2:], dtype=sum_dtype(x0))
        y, cum = torch.zeros_like(s), s.new_zeros(bsz)
        n_iters = torch.zeros(bsz, dtype=torch.long, device=x0.device)
        active = torch.arange(bsz, device=x0.device)
        for i in range(t):
            xa, sa, ca = x0[active], s[active], cum[active]
            h, p = self.step(xa, sa, i)
            sa = sa + h
            halt = (ca + p >= 1 - eps) | (i == t - 1)
            w = torch.where(halt, 1 - ca, p)
            y[active] += torch.where(halt.view(-1, 1, 1, 1), sa, torch.zeros_like(sa)) if self.state_output else w.view(-1, 1, 1, 1) * sa
            s[active], cum[active] = sa, ca + p
            n_iters[active[halt]] = i + 1
            active = active[~halt]
            if len(active) == 0:
                break
        return y, n_iters, None


class IamNN(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.stem = nn.Conv2d(3, cfg.stem_channels, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(cfg.stem_channels)
        cins = (cfg.stem_channels,) + tuple(cfg.widths[:-1])
        self.stages = nn.ModuleList(Stage(ci, c, b, t, cfg)
                                    for ci, c, b, t in zip(cins, cfg.widths, cfg.bottlenecks, cfg.max_iters))
        self.fc = nn.Linear(cfg.widths[-1], cfg.num_classes)

    def stem_forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem_bn(self.stem(x)))
        return F.max_pool2d(x, 2) if self.cfg.stem_pool else x

    def _run(self, x, early_exit: bool, max_iters=None, eps=None, halting=True, weights: list | None = None):
        """`weights`: one list per stage, filled by the masked forward (Stage.forward's `weights`)."""
        x = self.stem_forward(x)
        iters, ponder = [], x.new_zeros(x.shape[0], dtype=sum_dtype(x))
        for k, stage in enumerate(self.stages):
            if k > 0:
                x = F.max_pool2d(x, 2)
            t = None if max_iters is None else max_iters[k]
            y, n, r = (stage.forward_early_exit(x, t, eps) if early_exit
                       else stage.forward(x, t, eps, halting, None if weights is None else weights[k]))
            iters.append(n)
            if r is not None:
                ponder = ponder + n + r
            x = F.relu(y)
        logits = self.fc(x.mean((2, 3)))
        return logits, torch.stack(iters, 1), ponder

    def forward(self, x, max_iters=None, eps=None, halting=True):
        """Returns (logits, iterations[B, stages], ponder cost N + R summed over stages [B]).
        halting=False: every stage runs to its maximum and outputs its final state (see Stage.forward)."""
        return self._run(x, False, max_iters, eps, halting)

    @torch.no_grad()
    def forward_early_exit(self, x, max_iters=None, eps=None):
        return self._run(x, True, max_iters, eps)[:2]

    @torch.no_grad()
    def halting_weights(self, x, eps=None) -> list[torch.Tensor]:
        """Per stage, [B, T]: the ACT weight each iteration's state gets in the stage's output (p_i, then R at the
        halting step, then 0; each row sums to 1). How much of the output a later iteration really makes: a stage
        that counts 2 iterations but weighs the second 0.05 is one iteration deep (docs/training.md). With
        stage_output="state" the output is s_N and these weights are the mixture its halting heads learn through."""
        per_stage = [[] for _ in self.stages]
        self._run(x, False, eps=eps, weights=per_stage)
        return [torch.stack(w + [torch.zeros_like(w[0])] * (stage.t - len(w)), 1)
                for w, stage in zip(per_stage, self.stages)]

    def flops(self, input_size: int | None = None) -> dict:
        return flops_table(self.cfg, input_size)


def flops_table(cfg: ModelConfig, input_size: int | None = None) -> dict:
    """FLOPs (2 per multiply-add of every conv and FC; elementwise ops not counted) at `input_size` x `input_size`
    (default: cfg.input_size)."""
    hw = cfg.input_size if input_size is None else input_size
    stem = 2 * 9 * 3 * cfg.stem_channels * hw * hw
    hw = hw // 2 if cfg.stem_pool else hw
    cins = (cfg.stem_channels,) + tuple(cfg.widths[:-1])
    per_iter = []
    for k, (ci, c, b) in enumerate(zip(cins, cfg.widths, cfg.bottlenecks)):
        if k > 0:
            hw //= 2
        block = 2 * hw * hw * ((ci + c) * b + 9 * b * b + b * c)
        act = 2 * ((2 * c + ci) * cfg.act_hidden + cfg.act_hidden ** 2 + cfg.act_hidden) if cfg.shared else 0
        per_iter.append(block + act)
    head = 2 * cfg.widths[-1] * cfg.num_classes
    return {"stem": stem, "perIteration": per_iter, "head": head,
            "max": stem + head + sum(f * t for f, t in zip(per_iter, cfg.max_iters))}


def flops_of(iters: torch.Tensor, table: dict) -> torch.Tensor:
    """Exact FLOPs per image from its per-stage iteration counts [B, stages]."""
    per = torch.tensor(table["perIteration"], dtype=torch.float64)
    return table["stem"] + table["head"] + (iters.to(torch.float64) * per).sum(1)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


if __name__ == "__main__":
    for name, base in (("CIFAR-10", ModelConfig()), ("Tiny-ImageNet", TINY_IMAGENET)):
        for shared in (True, False):
            cfg = replace(base, shared=shared)
            table = flops_table(cfg)
            print(f"{name} shared={shared} params={count_params(IamNN(cfg)):,} flops_max={table['max']:,} "
                  f"flops_1_iteration={table['stem'] + table['head'] + sum(table['perIteration']):,}")
