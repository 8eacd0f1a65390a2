"""Learned 1x1 conv (+BN) adapter between two models' feature spaces.

Used by Forward Injection (RGB features -> thermal head), Reverse Injection and feature KD
(thermal features -> RGB feature space). Resizes spatially when the two feature maps differ.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn


class FeatureAdapter(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, out_hw=None):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
        self.out_hw = tuple(out_hw) if out_hw is not None else None

    def forward(self, x):
        if self.out_hw is not None and tuple(x.shape[-2:]) != self.out_hw:
            x = F.interpolate(x, size=self.out_hw, mode="bilinear", align_corners=False)
        return self.proj(x)
