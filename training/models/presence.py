"""Face/not-face head: pooled backbone features -> one logit.

The runtime tracker needs to know when its crop no longer holds a face (it slid onto a neck, a body or
the background); landmark confidence alone does not tell (it is similar on faces and non-faces). Mean and
max pooling keep it cheap and independent of where in the crop the evidence lies.
"""
from __future__ import annotations

import torch
from torch import nn


class PresenceHead(nn.Module):
    def __init__(self, in_channels: int, hidden: int = 32):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2 * in_channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 1))

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) features -> (B,) logits (sigmoid: probability that the crop shows a face)."""
        pooled = torch.cat([feat.mean((2, 3)), feat.amax((2, 3))], 1)
        return self.mlp(pooled)[:, 0]
