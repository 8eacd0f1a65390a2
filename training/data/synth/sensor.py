"""Thermal camera effects on the sensor's own pixel grid: optical blur, NETD temporal noise, fixed-pattern
column/row offsets, vignetting, and the outputs (16-bit radiometric counts and 8-bit AGC)."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

COUNTS_SCALE = 0.01  # K per count (FLIR TLinear high resolution)
COUNTS_OFFSET = -273.15  # deg C = counts * scale + offset
SENSOR_SIZES = ((160, 120), (320, 240), (384, 288), (640, 480), (640, 512))
HFOVS = (24.0, 32.0, 45.0, 50.0, 57.0)


@dataclass
class SensorModel:
    blur_sigma: float  # optics, sensor pixels
    netd: float  # K, temporal noise std
    col_fpn: np.ndarray  # (W,) K offsets per column
    row_fpn: np.ndarray  # (H,) K offsets per row
    vignette: float  # K drop at the frame corners
    width: int
    height: int


def sample_sensor(rng: np.random.Generator, width: int, height: int) -> SensorModel:
    return SensorModel(
        blur_sigma=float(rng.uniform(0.4, 1.1)), netd=float(rng.uniform(0.04, 0.08)),
        col_fpn=rng.normal(0, rng.uniform(0.01, 0.08), width).astype(np.float32),
        row_fpn=rng.normal(0, rng.uniform(0.005, 0.04), height).astype(np.float32),
        vignette=float(rng.uniform(0.0, 0.8)), width=width, height=height)


def apply_sensor(temp: np.ndarray, s: SensorModel, rng: np.random.Generator, x0: int = 0, y0: int = 0) -> np.ndarray:
    """Temperatures sampled on sensor pixels [y0:y0+h, x0:x0+w] -> what the camera reports (deg C).

    ``x0, y0`` place a window in the full frame, so that fixed-pattern noise and vignetting of a crop
    are those of its place in the frame.
    """
    h, w = temp.shape
    out = cv2.GaussianBlur(temp, (0, 0), s.blur_sigma) if s.blur_sigma > 0.2 else temp.copy()
    cols = np.clip(np.arange(x0, x0 + w), 0, s.width - 1)
    rows = np.clip(np.arange(y0, y0 + h), 0, s.height - 1)
    out += s.col_fpn[cols][None, :] + s.row_fpn[rows][:, None]
    gx = (cols - (s.width - 1) / 2) / (s.width / 2)
    gy = (rows - (s.height - 1) / 2) / (s.height / 2)
    out -= s.vignette * ((gx[None, :] ** 2 + gy[:, None] ** 2) / 2).astype(np.float32)
    out += rng.normal(0, s.netd, out.shape).astype(np.float32)
    return out


def to_counts(temp_c: np.ndarray) -> np.ndarray:
    return np.clip(np.round((temp_c - COUNTS_OFFSET) / COUNTS_SCALE), 0, 65535).astype(np.uint16)


def agc8(temp_c: np.ndarray, lo_pct: float = 1.0, hi_pct: float = 99.0) -> np.ndarray:
    """8-bit automatic gain control as cameras without radiometry output it: a percentile window."""
    lo, hi = np.percentile(temp_c, [lo_pct, hi_pct])
    return np.clip((temp_c - lo) / max(hi - lo, 1e-3) * 255.0 + 0.5, 0, 255).astype(np.uint8)
