"""SimCC head: per-landmark spatial maps -> flatten -> shared MLP -> x and y logits.

The 1x1 conv gives one map per landmark; the MLP is shared across landmarks, so its size does not
grow with the number of points and ONNX runs it as two small MatMuls.
"""
from __future__ import annotations

from typing import Tuple

from torch import nn


class SimCCHead(nn.Module):
    def __init__(self, in_channels: int, num_points: int, feat_hw: Tuple[int, int], bins: Tuple[int, int],
                 hidden: int = 256):
        super().__init__()
        self.num_points = num_points
        self.feat_hw = tuple(feat_hw)
        h, w = self.feat_hw
        self.maps = nn.Conv2d(in_channels, num_points, 1)
        self.mlp = nn.Sequential(nn.Linear(h * w, hidden), nn.LayerNorm(hidden), nn.GELU())
        self.fc_x = nn.Linear(hidden, int(bins[0]))
        self.fc_y = nn.Linear(hidden, int(bins[1]))

    def forward(self, feat):
        if tuple(feat.shape[-2:]) != self.feat_hw:
            raise ValueError(f"head expects features of size {self.feat_hw}, got {tuple(feat.shape[-2:])}")
        z = self.mlp(self.maps(feat).flatten(2))  # (B, N, hidden)
        return self.fc_x(z), self.fc_y(z)
