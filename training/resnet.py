"""He et al.'s CIFAR ResNets (ResNet-20/32/44/56/110): the static peers IamNN is measured against.

3x3 basic blocks in three stages of n = (depth - 2) / 6 blocks at 16/32/64 channels and 32/16/8 px, option-A
shortcuts (stride-2 subsampling and zero-padded channels: no parameters), GAP, one FC layer ("Deep Residual
Learning for Image Recognition", section 4.2). Static: every image runs every layer. The interface matches
IamNN's (forward -> logits, iterations [B, 0], ponder cost 0), so train.py and evaluate.py train and evaluate
either with the same recipe.

    /usr/bin/python3 -m training.resnet   # params and FLOPs of ResNet-20/32/44/56
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

WIDTHS = (16, 32, 64)


@dataclass
class ResNetConfig:
    depth: int = 20                # 6n + 2 layers: 20, 32, 44, 56, 110
    num_classes: int = 10


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = cout - cin  # option A: the shortcut subsamples and pads the new channels with zeros

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        short = x
        if self.pad:
            short = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(out + short)


class CifarResNet(nn.Module):
    def __init__(self, cfg: ResNetConfig):
        super().__init__()
        if (cfg.depth - 2) % 6:
            raise ValueError(f"depth {cfg.depth}: a CIFAR ResNet has 6n + 2 layers (20, 32, 44, 56, 110)")
        self.cfg = cfg
        n = (cfg.depth - 2) // 6
        self.stem = nn.Conv2d(3, WIDTHS[0], 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(WIDTHS[0])
        blocks, cin = [], WIDTHS[0]
        for k, c in enumerate(WIDTHS):
            for i in range(n):
                blocks.append(BasicBlock(cin, c, 2 if k > 0 and i == 0 else 1))
                cin = c
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(WIDTHS[-1], cfg.num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(F.relu(self.stem_bn(self.stem(x))))
        return self.fc(x.mean((2, 3)))

    def forward(self, x, max_iters=None, eps=None, halting=True):
        """IamNN's signature; static, so the iteration counts are empty and the ponder cost is 0."""
        out = self.logits(x)
        return out, x.new_zeros(x.shape[0], 0, dtype=torch.long), x.new_zeros(x.shape[0])

    @torch.no_grad()
    def forward_early_exit(self, x, max_iters=None, eps=None):
        return self.forward(x)[:2]

    def flops(self, input_size: int = 32) -> dict:
        return resnet_flops(self.cfg, input_size)


def resnet_flops(cfg: ResNetConfig, input_size: int = 32) -> dict:
    """FLOPs as model.flops_table counts them (2 per multiply-add of every conv and FC layer), in its format:
    a static network has no per-iteration part, so every conv is in the part each image runs once ("stem")."""
    n = (cfg.depth - 2) // 6
    hw, total, cin = input_size, 2 * 9 * 3 * WIDTHS[0] * input_size ** 2, WIDTHS[0]
    for k, c in enumerate(WIDTHS):
        if k > 0:
            hw //= 2
        total += n * 2 * 2 * 9 * c * c * hw * hw - (2 * 9 * (c - cin) * c * hw * hw if k > 0 else 0)
        cin = c
    head = 2 * WIDTHS[-1] * cfg.num_classes
    return {"stem": total, "perIteration": [], "head": head, "max": total + head}


if __name__ == "__main__":
    for d in (20, 32, 44, 56):
        c = ResNetConfig(depth=d)
        print(f"ResNet-{d}: params={sum(p.numel() for p in CifarResNet(c).parameters()):,} "
              f"flops={resnet_flops(c)['max'] / 1e6:.1f} M")
