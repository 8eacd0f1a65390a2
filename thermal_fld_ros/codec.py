"""SimCC landmark codec: one 1D classification per axis and point, at ``split_ratio`` bins per pixel.

Chosen over 2D heatmaps because the head is a pair of small linear layers (fast in onnxruntime on a
CPU) while keeping sub-pixel accuracy, and its per-axis distributions give a natural per-point
confidence and a clean target for output-level distillation (KL between distributions).
The runtime decodes with :func:`decode`; training builds its targets with :func:`encode` and
evaluates through :func:`decode` too, so both halves share one definition.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np


@dataclass(frozen=True)
class SimCCCodec:
    """Geometry of the SimCC representation for an ``input_size`` = (width, height) crop."""

    input_size: Tuple[int, int]
    split_ratio: float = 2.0
    sigma: float = 1.5  # label std in pixels (training targets)

    @property
    def bins(self) -> Tuple[int, int]:
        w, h = self.input_size
        return int(round(w * self.split_ratio)), int(round(h * self.split_ratio))

    def encode(self, points: np.ndarray, visible: np.ndarray | None = None):
        """Gaussian 1D targets for (N, 2) crop-pixel points -> (tx (N, Wx), ty (N, Hy), weight (N,))."""
        points = np.asarray(points, np.float32)
        wx, hy = self.bins
        xs = (np.arange(wx, dtype=np.float32) + 0.5) / self.split_ratio
        ys = (np.arange(hy, dtype=np.float32) + 0.5) / self.split_ratio
        tx = np.exp(-0.5 * ((xs[None, :] - points[:, :1]) / self.sigma) ** 2)
        ty = np.exp(-0.5 * ((ys[None, :] - points[:, 1:2]) / self.sigma) ** 2)
        tx /= np.maximum(tx.sum(1, keepdims=True), 1e-12)
        ty /= np.maximum(ty.sum(1, keepdims=True), 1e-12)
        w, h = self.input_size
        inside = (points[:, 0] >= 0) & (points[:, 0] < w) & (points[:, 1] >= 0) & (points[:, 1] < h)
        weight = inside.astype(np.float32)
        if visible is not None:
            weight *= np.asarray(visible, np.float32)
        return tx.astype(np.float32), ty.astype(np.float32), weight

    def decode(self, simcc_x: np.ndarray, simcc_y: np.ndarray):
        """Logits (..., N, Wx), (..., N, Hy) -> points (..., N, 2) in crop pixels, scores (..., N) in [0, 1]."""
        px = _softmax(simcc_x)
        py = _softmax(simcc_y)
        x, cx = _refine(px)
        y, cy = _refine(py)
        points = np.stack([x, y], -1) / self.split_ratio
        scores = np.sqrt(cx * cy)
        return points.astype(np.float32), scores.astype(np.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def _refine(prob: np.ndarray, radius: int = 3):
    """Sub-bin position: expectation of the distribution in a window around its mode.

    Returns (position in bins, bin centre convention) and the probability mass inside the window,
    which serves as confidence (a sharp single mode -> ~1, a flat or split one -> small).
    """
    n = prob.shape[-1]
    idx = prob.argmax(-1)
    offsets = np.arange(-radius, radius + 1)
    win = np.clip(idx[..., None] + offsets, 0, n - 1)
    p = np.take_along_axis(prob, win, -1)
    # Bins clipped at the border repeat: count each position once.
    valid = (idx[..., None] + offsets >= 0) & (idx[..., None] + offsets < n)
    p = p * valid
    mass = p.sum(-1)
    pos = (p * (win + 0.5)).sum(-1) / np.maximum(mass, 1e-12)
    return pos, np.clip(mass, 0.0, 1.0)
