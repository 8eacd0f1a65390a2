"""Backbone + SimCC head, the unit every stage trains and ``export`` writes to ONNX."""
from __future__ import annotations

from torch import nn


class LandmarkNet(nn.Module):
    """``forward(x)`` -> (simcc_x, simcc_y); ``features``/``head`` separately for injection and KD.

    ``x`` is the standardised crop ``(crop01 - input_mean) / input_std`` -- the runtime applies the
    same standardisation from the model's metadata before calling onnxruntime.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, in_channels: int = 1):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.in_channels = int(in_channels)

    def features(self, x):
        return self.backbone(x)

    def forward(self, x):
        return self.head(self.backbone(x))
