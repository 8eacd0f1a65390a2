"""Loss terms of MLCM-KD, each a small function with a hand-checkable definition.

- ``simcc_gt_loss``: KL(target || softmax(logits)) per point and axis, averaged over points with
  weight > 0 (soft cross-entropy minus the target's entropy: same gradient, zero at a perfect fit).
- ``simcc_kd_loss``: output-level distillation, KL(softmax(t/tau) || softmax(s/tau)) * tau^2
  (Hinton's scaling keeps gradient size independent of tau).
- ``feature_kd_loss``: MSE between adapted student features and (detached) teacher features, optionally
  averaged over the samples with weight > 0 only (unpaired samples carry no teacher).
- ``presence_loss``: binary cross-entropy of the face/not-face logit.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F


def _kl_rows(target_prob: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """sum_k p_k (log p_k - log q_k) over the last axis, with 0 log 0 = 0."""
    logq = F.log_softmax(logits, -1)
    plogp = torch.where(target_prob > 0, target_prob * torch.log(target_prob.clamp_min(1e-30)),
                        torch.zeros_like(target_prob))
    return (plogp - target_prob * logq).sum(-1)


def _masked_mean(values: torch.Tensor, weight: Optional[torch.Tensor]) -> torch.Tensor:
    if weight is None:
        return values.mean()
    weight = weight.to(values.dtype)
    return (values * weight).sum() / weight.sum().clamp_min(1.0)


def simcc_gt_loss(logits_x, logits_y, target_x, target_y, weight=None) -> torch.Tensor:
    """Ground-truth loss: (KL_x + KL_y) / 2 per point, weighted mean over (B, N)."""
    per_point = 0.5 * (_kl_rows(target_x, logits_x) + _kl_rows(target_y, logits_y))
    return _masked_mean(per_point, weight)


def simcc_kd_loss(student_x, student_y, teacher_x, teacher_y, tau: float = 1.0, weight=None) -> torch.Tensor:
    """Output KD: tau^2 * (KL_x + KL_y) / 2 between temperature-softened distributions (teacher detached)."""
    if tau <= 0:
        raise ValueError(f"KD temperature must be > 0, got {tau}")
    px = F.softmax(teacher_x.detach() / tau, -1)
    py = F.softmax(teacher_y.detach() / tau, -1)
    per_point = 0.5 * (_kl_rows(px, student_x / tau) + _kl_rows(py, student_y / tau))
    return (tau * tau) * _masked_mean(per_point, weight)


def feature_kd_loss(adapted_student: torch.Tensor, teacher_feat: torch.Tensor,
                    sample_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Feature KD: mean squared error to the teacher's features (no gradient into the teacher).

    ``sample_weight`` (B,): per-sample weights; the mean runs over weighted samples (0 when all are 0).
    """
    if adapted_student.shape != teacher_feat.shape:
        raise ValueError(f"feature shapes differ: {tuple(adapted_student.shape)} vs {tuple(teacher_feat.shape)}")
    if sample_weight is None:
        return F.mse_loss(adapted_student, teacher_feat.detach())
    per_sample = (adapted_student - teacher_feat.detach()).pow(2).flatten(1).mean(1)
    return _masked_mean(per_sample, sample_weight)


def presence_loss(logits: torch.Tensor, is_face: torch.Tensor) -> torch.Tensor:
    """Face/not-face: binary cross-entropy with logits, mean over the batch."""
    return F.binary_cross_entropy_with_logits(logits, is_face.to(logits.dtype))
