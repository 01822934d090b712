"""Static ResNets, the peers IamNN is measured against: He et al.'s CIFAR ResNets (ResNet-20/32/44/56/110, train.py
--arch=resnet<6n+2>) and a ResNet-18 for 64x64 images (--arch=resnet18).

CIFAR: 3x3 basic blocks in three stages of n = (depth - 2) / 6 blocks at 16/32/64 channels and 32/16/8 px, option-A
shortcuts (stride-2 subsampling and zero-padded channels: no parameters), GAP, one FC layer ("Deep Residual
Learning for Image Recognition", section 4.2).

ResNet-18 for 64x64 (Tiny-ImageNet): the ImageNet ResNet-18 (Table 1 of the paper: four stages of 2 basic blocks
at 64/128/256/512 channels, projection shortcuts, GAP, FC) with its 7x7 stride-2 conv and 3x3 stride-2 max-pool,
made for 224 px, replaced by IamNN's stem: a 3x3 conv (64) and a 2x2 max-pool, so its stages run at 32/16/8/4 px
on a 64x64 image, where the four-stage IamNN's do. Without the pool (stem_pool=False) they would run at
64/32/16/8 px for 4x the FLOPs, too slow to train on this project's 2-core CPU. 64x64, 200 classes: 11,271,432
params, 1,121.7 MFLOPs.

Static: every image runs every layer. The interface matches IamNN's (forward -> logits, iterations [B, 0],
ponder cost 0), so train.py and evaluate.py train and evaluate either with the same recipe.

    /usr/bin/python3 -m training.resnet   # params and FLOPs of ResNet-20/32/44/56 and ResNet-18 (64x64, 200 classes)
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


class StaticNetwork(nn.Module):
    """IamNN's interface for a network without iterations: subclasses build their layers and define `logits`."""

    def build(self, block: type, widths: tuple, counts: tuple, num_classes: int) -> None:
        """A 3x3 stem conv + BN at widths[0], then counts[k] blocks of widths[k] channels per stage (each stage after
        the first starts with a stride-2 block), then the FC head; He-normal init."""
        self.stem = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(widths[0])
        blocks, cin = [], widths[0]
        for k, (c, n) in enumerate(zip(widths, counts)):
            for i in range(n):
                blocks.append(block(cin, c, 2 if k > 0 and i == 0 else 1))
                cin = c
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(widths[-1], num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x, max_iters=None, eps=None, halting=True):
        """IamNN's signature; static, so the iteration counts are empty and the ponder cost is 0."""
        out = self.logits(x)
        return out, x.new_zeros(x.shape[0], 0, dtype=torch.long), x.new_zeros(x.shape[0])

    @torch.no_grad()
    def forward_early_exit(self, x, max_iters=None, eps=None):
        return self.forward(x)[:2]


class CifarResNet(StaticNetwork):
    def __init__(self, cfg: ResNetConfig):
        super().__init__()
        if (cfg.depth - 2) % 6:
            raise ValueError(f"depth {cfg.depth}: a CIFAR ResNet has 6n + 2 layers (20, 32, 44, 56, 110)")
        self.cfg = cfg
        self.build(BasicBlock, WIDTHS, ((cfg.depth - 2) // 6,) * len(WIDTHS), cfg.num_classes)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(F.relu(self.stem_bn(self.stem(x))))
        return self.fc(x.mean((2, 3)))

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


RESNET18_WIDTHS = (64, 128, 256, 512)
RESNET18_BLOCKS = (2, 2, 2, 2)


@dataclass
class ResNet18Config:
    num_classes: int = 200
    input_size: int = 64          # side of the square input (train.py sets it from the data): FLOPs count at it
    stem_pool: bool = True        # 2x2 max-pool after the stem, as IamNN's (train.py passes IamNN's --stem_pool)


class ProjectionBlock(BasicBlock):
    """ResNet-18's basic block: BasicBlock's two 3x3 convs; where the shape changes, the shortcut is a strided 1x1
    conv + BN (option B, the ImageNet ResNets' choice) instead of option A's zero padding."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__(cin, cout, stride)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18(StaticNetwork):
    """ResNet-18 with IamNN's 3x3 stem and 2x2 max-pool (module docstring)."""

    def __init__(self, cfg: ResNet18Config):
        super().__init__()
        self.cfg = cfg
        self.build(ProjectionBlock, RESNET18_WIDTHS, RESNET18_BLOCKS, cfg.num_classes)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem_bn(self.stem(x)))
        x = self.blocks(F.max_pool2d(x, 2) if self.cfg.stem_pool else x)
        return self.fc(x.mean((2, 3)))

    def flops(self, input_size: int | None = None) -> dict:
        return resnet18_flops(self.cfg, input_size)


def resnet18_flops(cfg: ResNet18Config, input_size: int | None = None) -> dict:
    """resnet_flops for ResNet-18 at `input_size` (default: cfg.input_size), the projection shortcuts included."""
    hw = cfg.input_size if input_size is None else input_size
    total, cin = 2 * 9 * 3 * RESNET18_WIDTHS[0] * hw * hw, RESNET18_WIDTHS[0]
    hw = hw // 2 if cfg.stem_pool else hw
    for k, (c, n) in enumerate(zip(RESNET18_WIDTHS, RESNET18_BLOCKS)):
        if k > 0:
            hw //= 2
        for i in range(n):
            total += 2 * 9 * (cin + c) * c * hw * hw  # conv1 (cin -> c) and conv2 (c -> c) at the output's size
            if cin != c:
                total += 2 * cin * c * hw * hw
            cin = c
    head = 2 * RESNET18_WIDTHS[-1] * cfg.num_classes
    return {"stem": total, "perIteration": [], "head": head, "max": total + head}


if __name__ == "__main__":
    for d in (20, 32, 44, 56):
        c = ResNetConfig(depth=d)
        print(f"ResNet-{d}: params={sum(p.numel() for p in CifarResNet(c).parameters()):,} "
              f"flops={resnet_flops(c)['max'] / 1e6:.1f} M")
    c = ResNet18Config()
    print(f"ResNet-18 ({c.input_size}x{c.input_size}, {c.num_classes} classes): "
          f"params={sum(p.numel() for p in ResNet18(c).parameters()):,} flops={resnet18_flops(c)['max'] / 1e6:.1f} M")
