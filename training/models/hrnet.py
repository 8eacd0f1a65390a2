"""HRNet-like teacher backbone in plain torch: parallel resolutions with repeated fusion.

Sized for CPU training (about 1.5-4 M parameters at the default widths). Branches run at strides
4, 8 and 16; every stage exchanges information between all branches; the output is all branches
fused at stride 8, which is what the SimCC head and the adapters expect.
"""
from __future__ import annotations

from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from training.models.blocks import BasicBlock, conv_bn


class _Fuse(nn.Module):
    """Exchange units: every output branch sums all input branches resampled to its resolution."""

    def __init__(self, channels: Sequence[int]):
        super().__init__()
        n = len(channels)
        self.paths = nn.ModuleList()
        for i in range(n):  # target
            row = nn.ModuleList()
            for j in range(n):  # source
                if i == j:
                    row.append(nn.Identity())
                elif j > i:  # lower resolution source: 1x1 conv, then upsample in forward
                    row.append(conv_bn(channels[j], channels[i], 1, act=False))
                else:  # higher resolution source: strided 3x3 convs
                    steps = [conv_bn(channels[j], channels[j], 3, 2) for _ in range(i - j - 1)]
                    steps.append(conv_bn(channels[j], channels[i], 3, 2, act=False))
                    row.append(nn.Sequential(*steps))
            self.paths.append(row)
        self.act = nn.ReLU(inplace=True)

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        outs = []
        for i, row in enumerate(self.paths):
            total = xs[i]
            for j, path in enumerate(row):
                if j == i:
                    continue
                y = path(xs[j])
                if y.shape[-2:] != xs[i].shape[-2:]:
                    y = F.interpolate(y, size=xs[i].shape[-2:], mode="bilinear", align_corners=False)
                total = total + y
            outs.append(self.act(total))
        return outs


class _Stage(nn.Module):
    def __init__(self, channels: Sequence[int], blocks: int):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(*[BasicBlock(c) for _ in range(blocks)]) for c in channels)
        self.fuse = _Fuse(channels)

    def forward(self, xs):
        return self.fuse([b(x) for b, x in zip(self.branches, xs)])


class HRNetBackbone(nn.Module):
    """Input (B, in_ch, H, W) -> features (B, out_channels, H/8, W/8)."""

    stride = 8

    def __init__(self, in_channels: int = 1, width: int = 24, blocks: int = 2, stages: int = 3,
                 out_channels: int = 128):
        super().__init__()
        c = [width, width * 2, width * 4]
        self.stem = nn.Sequential(conv_bn(in_channels, 32, 3, 2), conv_bn(32, c[0], 3, 2))  # stride 4
        self.stage1 = nn.Sequential(*[BasicBlock(c[0]) for _ in range(blocks)])
        self.to2 = conv_bn(c[0], c[1], 3, 2)  # new stride-8 branch
        self.stage2 = nn.ModuleList(_Stage(c[:2], blocks) for _ in range(max(1, stages - 2)))
        self.to3 = conv_bn(c[1], c[2], 3, 2)  # new stride-16 branch
        self.stage3 = nn.ModuleList(_Stage(c, blocks) for _ in range(2))
        self.down4 = conv_bn(c[0], c[0], 3, 2)
        self.out = conv_bn(sum(c), out_channels, 1)
        self.out_channels = out_channels

    def forward(self, x):
        x = self.stage1(self.stem(x))
        xs = [x, self.to2(x)]
        for st in self.stage2:
            xs = st(xs)
        xs = xs + [self.to3(xs[1])]
        for st in self.stage3:
            xs = st(xs)
        size = xs[1].shape[-2:]
        hi = self.down4(xs[0])
        lo = F.interpolate(xs[2], size=size, mode="bilinear", align_corners=False)
        return self.out(torch.cat([hi, xs[1], lo], 1))
