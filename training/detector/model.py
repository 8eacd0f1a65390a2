"""CentreFace: a small anchor-free face detector (centre heatmap + box size + sub-cell offset, stride 4).

Why this shape: thermal faces are compact warm blobs from 10 to 200 px, so one stride-4 output map fed by
a tiny feature pyramid (strides 4..32) sees both a 10 px face (2-3 cells) and a 200 px one (its context
reaches the /32 level), with no anchors to tune. Depthwise-separable blocks keep it under ~0.1 M
parameters and a few ms per 320x256 frame on one CPU thread.

Outputs (both (B, C, H/4, W/4)): ``heatmap`` sigmoid face-centre probability; ``box`` = (offset x, offset y
in cells, log width, log height in cells).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

STRIDE = 4


def _conv(ci: int, co: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(ci, co, 3, stride, 1, bias=False), nn.BatchNorm2d(co), nn.ReLU(inplace=True))


def _dwsep(ci: int, co: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(ci, ci, 3, stride, 1, groups=ci, bias=False), nn.BatchNorm2d(ci),
                         nn.ReLU(inplace=True), nn.Conv2d(ci, co, 1, bias=False), nn.BatchNorm2d(co),
                         nn.ReLU(inplace=True))


class CentreFaceNet(nn.Module):
    def __init__(self, width: int = 16):
        super().__init__()
        w = width
        self.stem = nn.Sequential(_conv(1, w // 2, 2), _conv(w // 2, w, 2))  # /4
        self.s4 = _dwsep(w, w)
        self.s8 = nn.Sequential(_dwsep(w, 2 * w, 2), _dwsep(2 * w, 2 * w))
        self.s16 = nn.Sequential(_dwsep(2 * w, 3 * w, 2), _dwsep(3 * w, 3 * w))
        self.s32 = nn.Sequential(_dwsep(3 * w, 4 * w, 2), _dwsep(4 * w, 4 * w))
        self.lat4 = nn.Conv2d(w, 2 * w, 1)
        self.lat8 = nn.Conv2d(2 * w, 2 * w, 1)
        self.lat16 = nn.Conv2d(3 * w, 2 * w, 1)
        self.lat32 = nn.Conv2d(4 * w, 2 * w, 1)
        self.neck = _dwsep(2 * w, 2 * w)
        self.heat = nn.Conv2d(2 * w, 1, 1)
        self.box = nn.Conv2d(2 * w, 4, 1)
        nn.init.constant_(self.heat.bias, -4.0)  # most cells are background (focal-loss prior)

    def forward(self, x: torch.Tensor):
        c4 = self.s4(self.stem(x))
        c8 = self.s8(c4)
        c16 = self.s16(c8)
        c32 = self.s32(c16)
        p = self.lat32(c32)
        p = self.lat16(c16) + F.interpolate(p, size=c16.shape[-2:], mode="nearest")
        p = self.lat8(c8) + F.interpolate(p, size=c8.shape[-2:], mode="nearest")
        p = self.lat4(c4) + F.interpolate(p, size=c4.shape[-2:], mode="nearest")
        f = self.neck(p)
        return torch.sigmoid(self.heat(f)), self.box(f)


def focal_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss; ``target`` a Gaussian-splatted heatmap with 1 at centres."""
    p = pred.clamp(1e-4, 1 - 1e-4)
    pos = target.ge(0.999).float()
    neg = 1.0 - pos
    pos_l = torch.log(p) * (1 - p) ** 2 * pos
    neg_l = torch.log(1 - p) * p ** 2 * (1 - target) ** 4 * neg
    n = pos.sum().clamp(min=1.0)
    return -(pos_l.sum() + neg_l.sum()) / n


def box_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L1 on (offset, log size) at the centre cells only."""
    m = mask.unsqueeze(1)
    return (F.l1_loss(pred * m, target * m, reduction="sum") / m.sum().clamp(min=1.0))
