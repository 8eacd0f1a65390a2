"""Breathing rate per face track from the nostril region's temperature (the mouth's as a fallback).

Exhaled air warms the skin at the nostrils and inhaled air cools it, so the nostril region's mean
temperature oscillates at the breathing rate. Each track keeps a sliding window of that signal; the
rate is the strongest spectral peak in 6-50 breaths/min (0.1-0.83 Hz) of the window resampled to a
uniform grid, linearly detrended and Hann-windowed. The confidence is the share of the band's power
that lies in the peak's main lobe (a clean cycle: ~0.8; noise: ~0.15).

A rate is only worth reporting for a still face whose nostrils stay readable, so the window restarts
when the nostril reading fails (turned away, saturated), when the head moves (nose tip displaced by more
than ``motion_tolerance`` inter-ocular distances, or yaw changes by 15 deg), when frames stop for a
second, and whenever a track id is new (re-identification gives a fresh track).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Deque, Dict, Iterable, Optional, Tuple

import numpy as np

from .types import Breathing, BreathingSource, BreathingState

BAND_HZ = (6.0 / 60.0, 50.0 / 60.0)
RESAMPLE_HZ = 4.0  # uniform grid for the spectrum (Nyquist 2 Hz > 0.83 Hz band top)
FFT_SIZE = 1024  # zero padding: 4 Hz / 1024 = 0.23 breaths/min per bin before peak interpolation
MAX_GAP_S = 1.0  # a longer pause in the frames restarts the window
MAX_YAW_CHANGE_DEG = 15.0
UPDATE_PERIOD_S = 0.5  # the spectrum is recomputed at most this often per track (a 20 s window moves slowly)


@dataclass(frozen=True)
class BreathingConfig:
    window_s: float = 20.0  # sliding window
    min_window_s: float = 12.0  # first estimate after this much signal (>= 1.2 cycles at 6 /min)
    min_confidence: float = 0.6  # white noise alone reaches ~0.2-0.45 in a 20 s window
    motion_tolerance: float = 0.25  # nose-tip displacement (inter-ocular distances) that restarts the window


@dataclass
class BreathingSample:
    """One frame of one face: the region signals and where the face is (for the motion test)."""

    stamp_s: float
    nostrils_c: float  # NaN: nostril region not readable
    mouth_c: float  # NaN: mouth region not readable
    anchor: np.ndarray  # nose tip (u, v) pixels
    scale_px: float  # inter-ocular distance (pixels)
    yaw_deg: float = float("nan")


def spectral_rate(t: np.ndarray, x: np.ndarray) -> Tuple[float, float]:
    """(rate in breaths/min, confidence) of the signal ``x`` sampled at times ``t`` (s); NaN rate if unusable."""
    if len(t) < 8 or not np.isfinite(x).all():
        return float("nan"), 0.0
    span = float(t[-1] - t[0])
    n = int(span * RESAMPLE_HZ) + 1
    if n < 8 or len(t) / max(span, 1e-9) < 2.0 * BAND_HZ[1]:  # frames too sparse for the band
        return float("nan"), 0.0
    grid = t[0] + np.arange(n) / RESAMPLE_HZ
    y = np.interp(grid, t, x)
    # linear detrend (closed form: cheaper than polyfit)
    g = grid - grid.mean()
    y = y - y.mean() - g * (float(g @ y) / max(float(g @ g), 1e-12))
    y *= _hann(n)
    size = max(FFT_SIZE, 1 << int(np.ceil(np.log2(n))))
    spec = np.fft.rfft(y, size)
    power = spec.real ** 2 + spec.imag ** 2
    freqs, band = _bins(size)
    total = float(power[band].sum())
    if total <= 1e-20:
        return float("nan"), 0.0
    idx = np.flatnonzero(band)
    k = int(idx[np.argmax(power[idx])])
    f_peak = freqs[k]
    if 0 < k < len(power) - 1:  # parabolic interpolation of the peak on log power
        a, b, c = np.log(power[k - 1:k + 2] + 1e-30)
        den = a - 2 * b + c
        if den < 0:
            f_peak += 0.5 * (a - c) / den * (RESAMPLE_HZ / size)
    lobe = np.abs(freqs - f_peak) <= 1.0 / (n / RESAMPLE_HZ)  # Hann main lobe half-width is 2/T: inner half
    confidence = float(power[band & lobe].sum()) / total
    return float(f_peak * 60.0), confidence


@lru_cache(maxsize=64)
def _hann(n: int) -> np.ndarray:
    return np.hanning(n)


@lru_cache(maxsize=8)
def _bins(size: int) -> Tuple[np.ndarray, np.ndarray]:
    freqs = np.arange(size // 2 + 1) * (RESAMPLE_HZ / size)
    return freqs, (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])


class BreathingEstimator:
    """Sliding window of one track's nostril/mouth temperatures -> breathing rate."""

    def __init__(self, cfg: BreathingConfig = BreathingConfig()):
        self.cfg = cfg
        self._buf: Deque[Tuple[float, float, float]] = deque()
        self._ref_anchor: Optional[Tuple[float, float]] = None  # nose tip (u, v) when the window started
        self._ref_yaw = float("nan")
        self._last: Optional[Breathing] = None
        self._last_t = -1e18

    def reset(self) -> None:
        self._buf.clear()
        self._ref_anchor = None
        self._ref_yaw = float("nan")
        self._last, self._last_t = None, -1e18

    def update(self, s: BreathingSample) -> Breathing:
        if not math.isfinite(s.nostrils_c):
            self.reset()
            return Breathing(float("nan"), 0.0, BreathingState.NOT_VISIBLE)
        if self._moved(s) or (self._buf and s.stamp_s - self._buf[-1][0] > MAX_GAP_S):
            self.reset()
            self._start(s)
            return Breathing(float("nan"), 0.0, BreathingState.MOVING)
        if self._ref_anchor is None:
            self._start(s)
        self._buf.append((float(s.stamp_s), float(s.nostrils_c), float(s.mouth_c)))
        while self._buf and s.stamp_s - self._buf[0][0] > self.cfg.window_s:
            self._buf.popleft()
        span = self._buf[-1][0] - self._buf[0][0]
        if span < self.cfg.min_window_s:
            return Breathing(float("nan"), 0.0, BreathingState.WARMING_UP, window_s=span)
        last = self._last
        if last is not None and s.stamp_s - self._last_t < UPDATE_PERIOD_S:  # the last estimate, window updated
            return Breathing(last.rate_bpm, last.confidence, last.state, last.source, span)
        self._last, self._last_t = self._estimate(span), s.stamp_s
        return self._last

    def _estimate(self, span: float) -> Breathing:
        arr = np.asarray(self._buf, np.float64)
        best = (float("nan"), 0.0, BreathingSource.NONE)
        for col, source in ((1, BreathingSource.NOSTRILS), (2, BreathingSource.MOUTH)):
            rate, conf = spectral_rate(arr[:, 0], arr[:, col])
            if np.isfinite(rate) and conf >= self.cfg.min_confidence:
                return Breathing(rate, conf, BreathingState.OK, source, span)
            if conf > best[1]:
                best = (rate, conf, source)
        return Breathing(float("nan"), best[1], BreathingState.LOW_CONFIDENCE, BreathingSource.NONE, span)

    def _start(self, s: BreathingSample) -> None:
        self._ref_anchor = (float(s.anchor[0]), float(s.anchor[1]))
        self._ref_yaw = float(s.yaw_deg)

    def _moved(self, s: BreathingSample) -> bool:
        """Plain floats: two numbers per frame are cheaper in Python than through numpy."""
        ref = self._ref_anchor
        if ref is None:
            return False
        shift = math.hypot(float(s.anchor[0]) - ref[0], float(s.anchor[1]) - ref[1])
        if not math.isfinite(shift) or shift > self.cfg.motion_tolerance * max(s.scale_px, 1e-6):
            return True
        yaw = float(s.yaw_deg)
        return math.isfinite(self._ref_yaw) and math.isfinite(yaw) and abs(yaw - self._ref_yaw) > MAX_YAW_CHANGE_DEG


class BreathingMonitor:
    """One estimator per track id; a track id not seen in a frame is forgotten (a new id starts afresh)."""

    def __init__(self, cfg: BreathingConfig = BreathingConfig()):
        self.cfg = cfg
        self._tracks: Dict[int, BreathingEstimator] = {}

    def reset(self) -> None:
        self._tracks.clear()

    def update(self, track_id: int, sample: BreathingSample) -> Breathing:
        est = self._tracks.get(track_id)
        if est is None:
            est = self._tracks[track_id] = BreathingEstimator(self.cfg)
        return est.update(sample)

    def keep_only(self, track_ids: Iterable[int]) -> None:
        keep = set(track_ids)
        for tid in [t for t in self._tracks if t not in keep]:
            del self._tracks[tid]
