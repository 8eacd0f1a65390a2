"""Synthetic radiometric thermal frames with warm faces at known places (tests and bench).

A face is a warm ellipse (skin ~34 °C) under colder hair, above a neck and clothed shoulders, on a room
background (~22 °C) with sensor noise: the structure the warm-head detector relies on.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import cv2
import numpy as np

Face = Tuple[float, float, float, float]  # centre x, centre y, half width, angle (deg; height = 1.3 * width)


def thermal_frame(width: int = 320, height: int = 256, faces: Sequence[Face] = ((160, 110, 30, 0),),
                  seed: int = 0, background_c: float = 22.0, noise_c: float = 0.15) -> np.ndarray:
    """float32 (H, W) temperatures in °C."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width), background_c, np.float32)
    img += np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :]  # a gentle wall gradient
    for cx, cy, hw, ang in faces:
        hh = 1.3 * hw
        a = np.deg2rad(ang)
        down = np.array([-np.sin(a), np.cos(a)])  # face's downward direction in the image
        # Shoulders and torso (clothes, cooler than skin), then the neck, then the head.
        body_c = np.array([cx, cy]) + down * hh * 2.6
        cv2.ellipse(img, tuple(int(v) for v in body_c), (int(hw * 2.6), int(hh * 1.4)), ang, 0, 360, 28.5, -1)
        neck_c = np.array([cx, cy]) + down * hh * 1.1
        cv2.ellipse(img, tuple(int(v) for v in neck_c), (int(hw * 0.45), int(hh * 0.5)), ang, 0, 360, 32.5, -1)
        cv2.ellipse(img, (int(cx), int(cy)), (int(hw), int(hh)), ang, 0, 360, 34.0, -1)
        hair_c = np.array([cx, cy]) - down * hh * 0.75
        cv2.ellipse(img, tuple(int(v) for v in hair_c), (int(hw * 1.05), int(hh * 0.45)), ang, 180, 360, 27.0, -1)
        # Warmer inner canthi and cooler nose tip, as in real thermal faces.
        for sx in (-0.3, 0.3):
            p = np.array([cx, cy]) + sx * hw * np.array([np.cos(a), np.sin(a)]) - down * hh * 0.15
            cv2.circle(img, tuple(int(v) for v in p), max(1, int(hw * 0.08)), 35.5, -1)
        nose = np.array([cx, cy]) + down * hh * 0.2
        cv2.circle(img, tuple(int(v) for v in nose), max(1, int(hw * 0.1)), 32.0, -1)
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    img += rng.normal(0, noise_c, img.shape).astype(np.float32)
    return img


def to_counts(celsius: np.ndarray) -> np.ndarray:
    """°C -> FLIR TLinear 16-bit counts (0.01 K per count)."""
    return np.clip(np.rint((celsius + 273.15) * 100.0), 0, 65535).astype(np.uint16)
