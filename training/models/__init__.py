"""Landmark networks split as backbone -> features (B, C, h, w) at stride 8 -> SimCC head.

The split lets a head read another model's features through a learned adapter (Forward/Reverse
Injection) and lets feature-level distillation compare backbones directly.
"""
from training.models.adapter import FeatureAdapter
from training.models.factory import build_model, count_flops, count_params
from training.models.head import SimCCHead
from training.models.landmark_net import LandmarkNet
from training.models.presence import PresenceHead

__all__ = ["FeatureAdapter", "LandmarkNet", "PresenceHead", "SimCCHead", "build_model", "count_flops", "count_params"]
