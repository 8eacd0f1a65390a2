"""Build teachers and students from config dicts; count their parameters and FLOPs."""
from __future__ import annotations

from typing import Any, Dict, Tuple

import torch
from torch import nn

from training.models.head import SimCCHead
from training.models.hrnet import HRNetBackbone
from training.models.landmark_net import LandmarkNet
from training.models.mobile import MobileBackbone
from training.models.presence import PresenceHead

ARCHS = {"hrnet": HRNetBackbone, "mobile": MobileBackbone}


def build_model(spec: Dict[str, Any], in_channels: int, num_points: int, input_size: Tuple[int, int],
                split_ratio: float = 2.0, head_hidden: int = 256, presence: bool = False) -> LandmarkNet:
    """``spec``: {"arch": "hrnet"|"mobile", ...backbone keyword arguments}; ``presence`` adds a face/not-face head."""
    spec = dict(spec)
    arch = spec.pop("arch", None)
    if arch not in ARCHS:
        raise ValueError(f"unknown model arch {arch!r}; known: {sorted(ARCHS)}")
    try:
        backbone = ARCHS[arch](in_channels=in_channels, **spec)
    except TypeError as exc:
        raise ValueError(f"bad options for arch {arch!r}: {exc}") from None
    w, h = input_size
    if w % backbone.stride or h % backbone.stride:
        raise ValueError(f"input size {input_size} must be a multiple of the backbone stride {backbone.stride}")
    feat_hw = (h // backbone.stride, w // backbone.stride)
    bins = (int(round(w * split_ratio)), int(round(h * split_ratio)))
    head = SimCCHead(backbone.out_channels, num_points, feat_hw, bins, hidden=head_hidden)
    return LandmarkNet(backbone, head, in_channels=in_channels,
                       presence=PresenceHead(backbone.out_channels) if presence else None)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, input_size: Tuple[int, int], in_channels: int) -> int:
    """FLOPs of one forward pass on one crop (multiply-add = 2 FLOPs), via torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    w, h = input_size
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(1, in_channels, h, w))
    model.train(was_training)
    return int(counter.get_total_flops())
