"""Time-adaptive decay of the distillation weights, and the learning-rate schedule.

Decay: lambda(t) = lambda0 * d(t), with t = step / total_steps in [0, 1] and
    d(t) = floor + (1 - floor) * (1 + cos(pi * t)) / 2     (cosine from 1 at the start to ``floor``).
Early on the teacher's knowledge guides the thermal model strongly; later the ground truth dominates,
so the student is not held back by the cross-modal teacher's own errors. ``enabled=False`` keeps
d(t) = 1 (the "decay off" ablation).
"""
from __future__ import annotations

import math


def decay_factor(step: int, total_steps: int, floor: float = 0.1, enabled: bool = True) -> float:
    """d(t) for ``step`` of ``total_steps`` (clamped to [0, 1])."""
    if not enabled:
        return 1.0
    if not 0.0 <= floor <= 1.0:
        raise ValueError(f"decay floor must be in [0, 1], got {floor}")
    t = min(max(step / max(total_steps, 1), 0.0), 1.0)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t))


def lr_factor(step: int, total_steps: int, warmup_steps: int = 0, min_factor: float = 0.01) -> float:
    """Linear warm-up, then cosine from 1 to ``min_factor`` (multiplies the base learning rate)."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(total_steps - warmup_steps, 1)
    t = min(max((step - warmup_steps) / span, 0.0), 1.0)
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * t))
