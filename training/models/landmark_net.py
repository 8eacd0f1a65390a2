"""Backbone + SimCC head (+ optional presence head), the unit every stage trains and ``export`` writes to ONNX."""
from __future__ import annotations

from typing import Optional

from torch import nn


class LandmarkNet(nn.Module):
    """``forward(x)`` -> (simcc_x, simcc_y); ``features``/``head`` separately for injection and KD.

    ``x`` is the standardised crop ``(crop01 - input_mean) / input_std`` -- the runtime applies the
    same standardisation from the model's metadata before calling onnxruntime. ``presence`` (optional,
    ``training.models.presence.PresenceHead``) maps the same features to a face/not-face logit; ``forward``
    stays two outputs either way so every landmark caller is unchanged.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, in_channels: int = 1,
                 presence: Optional[nn.Module] = None):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.in_channels = int(in_channels)
        self.presence = presence

    @property
    def has_presence(self) -> bool:
        return self.presence is not None

    def features(self, x):
        return self.backbone(x)

    def forward(self, x):
        return self.head(self.backbone(x))
