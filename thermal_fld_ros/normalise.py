"""Map a thermal frame to the model's [0, 1] input range.

Radiometric frames (temperatures) use a fixed temperature window, so a face looks the same whatever
else is in view; non-radiometric intensity (8-bit AGC, raw counts) uses a robust percentile window.
Training applies the same functions to its crops' source frames.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

KIND_TEMPERATURE = "temperature"  # degrees Celsius
KIND_INTENSITY = "intensity"  # arbitrary monotonic units (8-bit AGC, raw counts, palette index)


@dataclass(frozen=True)
class NormaliseConfig:
    temperature_window_c: Tuple[float, float] = (20.0, 40.0)
    percentiles: Tuple[float, float] = (1.0, 99.5)
    percentile_subsample: int = 4  # stride for percentile estimation (speed on large frames)


def normalise(data: np.ndarray, kind: str, cfg: NormaliseConfig = NormaliseConfig()) -> np.ndarray:
    """(H, W) frame -> float32 (H, W) in [0, 1]; non-finite pixels become 0 (coldest)."""
    data = np.asarray(data, np.float32)
    if kind == KIND_TEMPERATURE:
        lo, hi = cfg.temperature_window_c
    elif kind == KIND_INTENSITY:
        lo, hi = percentile_window(data, cfg.percentiles, cfg.percentile_subsample)
    else:
        raise ValueError(f"unknown frame kind {kind!r}")
    span = max(float(hi) - float(lo), 1e-6)
    out = (data - np.float32(lo)) * np.float32(1.0 / span)
    np.clip(out, 0.0, 1.0, out=out)
    out[~np.isfinite(out)] = 0.0
    return out


def percentile_window(data: np.ndarray, percentiles=(1.0, 99.5), subsample: int = 4) -> Tuple[float, float]:
    """Robust (low, high) of the finite pixels; a constant frame gives a unit-wide window."""
    sample = data[::subsample, ::subsample] if min(data.shape[:2]) >= 8 * subsample else data
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(sample, percentiles)
    if hi - lo < 1e-6:
        return float(lo), float(lo) + 1.0
    return float(lo), float(hi)
