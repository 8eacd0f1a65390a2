"""Face crops: one affine warp from image pixels to the model's input, and back.

The runtime (from a detector box or the previous frame's landmarks) and training (from ground-truth
landmarks, jittered) build crops with these same functions, so a model sees the same framing in both.
"""
from __future__ import annotations

from typing import Tuple

import cv2
import numpy as np

# Crop side = CROP_SCALE * max(box width, box height) of the landmark box (jaw, brows, chin).
CROP_SCALE = 1.3


def landmarks_box(points: np.ndarray) -> np.ndarray:
    """Axis-aligned box [x0, y0, x1, y1] of the finite points."""
    pts = np.asarray(points, np.float64)
    pts = pts[np.isfinite(pts).all(1)]
    if len(pts) == 0:
        raise ValueError("no finite landmarks to box")
    return np.array([pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()])


def crop_matrix(box: np.ndarray, out_size: Tuple[int, int], scale: float = CROP_SCALE,
                angle_deg: float = 0.0, shift: Tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """2x3 affine matrix mapping image pixels to a square crop centred on ``box``.

    ``angle_deg`` rotates the crop (counter-clockwise, image axes), ``shift`` moves its centre by a
    fraction of the crop side (used for training jitter and to follow in-plane rotation).
    """
    x0, y0, x1, y1 = [float(v) for v in box]
    side = max(x1 - x0, y1 - y0, 1.0) * scale
    cx = 0.5 * (x0 + x1) + shift[0] * side
    cy = 0.5 * (y0 + y1) + shift[1] * side
    w, h = out_size
    s = min(w, h) / side
    a = np.deg2rad(angle_deg)
    c, si = np.cos(a) * s, np.sin(a) * s
    # Rotate/scale about the box centre, then put the centre at the crop centre.
    m = np.array([[c, si, 0.0], [-si, c, 0.0]])
    m[:, 2] = np.array([w / 2.0, h / 2.0]) - m[:, :2] @ np.array([cx, cy])
    return m


def warp(image: np.ndarray, matrix: np.ndarray, out_size: Tuple[int, int],
         border_value: float = 0.0) -> np.ndarray:
    """Crop ``image`` with ``matrix`` (bilinear, constant border)."""
    return cv2.warpAffine(image, matrix, tuple(int(v) for v in out_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border_value)


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to (N, 2) points."""
    pts = np.asarray(points, np.float64)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def invert(matrix: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(np.asarray(matrix, np.float64))
