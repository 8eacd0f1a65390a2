"""Student backbones: inverted-residual nets with a width multiplier (tiny / small / base).

Stride 8 output, like the teachers, so the same head layout and adapters fit every student.
"""
from __future__ import annotations

from torch import nn

from training.models.blocks import InvertedResidual, conv_bn

# (expand, channels, repeats, stride) per group; stride-8 features come out of the last group.
_LAYOUT = ((1, 16, 1, 1), (4, 24, 2, 2), (4, 32, 3, 2), (4, 64, 3, 1), (4, 96, 2, 1))


def _scaled(c: int, mult: float) -> int:
    return max(8, int(round(c * mult / 8.0)) * 8)


class MobileBackbone(nn.Module):
    """Input (B, in_ch, H, W) -> features (B, out_channels, H/8, W/8)."""

    stride = 8

    def __init__(self, in_channels: int = 1, width_mult: float = 1.0, out_channels: int = 96):
        super().__init__()
        cin = _scaled(32, width_mult)
        layers = [conv_bn(in_channels, cin, 3, 2)]
        for expand, c, n, s in _LAYOUT:
            cout = _scaled(c, width_mult)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, expand))
                cin = cout
        layers.append(conv_bn(cin, out_channels, 1))
        self.body = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x):
        return self.body(x)
