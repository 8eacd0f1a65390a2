"""One ingest path: every frame (a ROS message, a file, an array) is checked here, under one set of rules.

Layout (encoding, size, step, data length, dtype) is checked before any pixel is copied, and values
(finiteness, plausible temperatures) before the pipeline uses them. Every problem raises
:class:`FrameError` carrying a typed :class:`~thermal_fld_ros.types.Reason` (the key the node counts in
``/diagnostics`` and the CLI reports) and one line that says what is wrong and what to do.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from .types import Issue, Reason

__all__ = ["ENCODINGS", "MAX_SIDE", "FrameError", "check_layout", "check_array", "array_from_buffer",
           "check_values", "PLAUSIBLE_SCENE_C"]

# encoding -> (numpy dtype on the wire, channels)
ENCODINGS = {
    "mono8": (np.uint8, 1),
    "8UC1": (np.uint8, 1),
    "mono16": (np.uint16, 1),
    "16UC1": (np.uint16, 1),
    "32FC1": (np.float32, 1),
    "bgr8": (np.uint8, 3),
    "rgb8": (np.uint8, 3),
}
# OpenCV's warpAffine/remap address pixels with 16-bit signed coordinates: a side of 32767 px or more
# fails inside OpenCV, so it is refused here with a clear line instead.
MAX_SIDE = 32766
# Median scene temperature a thermal camera looking at people can plausibly report (°C). Outside it the
# unit or the radiometric scale is wrong (kelvin ~300, fahrenheit ~70-100, AGC counts read as radiometric).
PLAUSIBLE_SCENE_C = (-60.0, 60.0)


class FrameError(ValueError):
    """A frame that cannot be processed: ``reason`` (typed, for counters) and a one-line message."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(message)
        self.reason = Reason(reason)

    def issue(self) -> Issue:
        return Issue(self.reason, str(self))


def check_layout(height: int, width: int, encoding: str, max_pixels: int,
                 step: Optional[int] = None, nbytes: Optional[int] = None) -> Tuple[type, int]:
    """Validate a frame's declared layout; returns (wire dtype, channels). Nothing is copied."""
    if encoding not in ENCODINGS:
        raise FrameError(Reason.ENCODING, f"unsupported encoding {encoding!r}; supported: {', '.join(ENCODINGS)}")
    dtype, channels = ENCODINGS[encoding]
    h, w = int(height), int(width)
    if h <= 0 or w <= 0:
        raise FrameError(Reason.EMPTY, f"empty frame ({w}x{h}, {encoding})")
    if max(h, w) > MAX_SIDE:
        raise FrameError(Reason.TOO_LARGE, f"frame too large: {w}x{h} has a side above {MAX_SIDE} px "
                         f"(OpenCV cannot warp it); check width/height/step")
    if h * w > max_pixels:
        raise FrameError(Reason.TOO_LARGE, f"frame too large: {w}x{h} = {h * w} pixels > max_pixels "
                         f"{max_pixels} (raise max_pixels if this camera really is that large)")
    if step is not None:
        row = w * channels * np.dtype(dtype).itemsize
        if int(step) < row:
            raise FrameError(Reason.LAYOUT, f"step {step} < width*channels*bytes = {row} ({encoding}, {w}x{h})")
        if nbytes is not None and int(nbytes) != int(step) * h:
            raise FrameError(Reason.LAYOUT, f"data has {nbytes} bytes, expected step*height = {step}*{h} = "
                             f"{int(step) * h} ({encoding}, {w}x{h})")
    return dtype, channels


def check_array(array, encoding: str, max_pixels: int) -> np.ndarray:
    """Validate an in-memory frame for ``encoding``; returns it as (H, W) or (H, W, 3).

    32FC1 accepts any float dtype (float64 is what ``np.save`` writes); it is converted later, once.
    """
    if not isinstance(array, np.ndarray):
        raise FrameError(Reason.LAYOUT, f"frame must be a numpy array, got {type(array).__name__}")
    if encoding not in ENCODINGS:
        raise FrameError(Reason.ENCODING, f"unsupported encoding {encoding!r}; supported: {', '.join(ENCODINGS)}")
    dtype, channels = ENCODINGS[encoding]
    if array.ndim < 2 or array.size == 0:
        raise FrameError(Reason.EMPTY, f"empty frame (shape {array.shape}, encoding {encoding})")
    if channels == 1 and array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if channels == 1 and array.ndim != 2:
        raise FrameError(Reason.LAYOUT, f"encoding {encoding} needs a (H, W) array, got shape {array.shape}")
    if channels == 3 and not (array.ndim == 3 and array.shape[2] == 3):
        raise FrameError(Reason.LAYOUT, f"encoding {encoding} needs a (H, W, 3) array, got shape {array.shape}")
    check_layout(array.shape[0], array.shape[1], encoding, max_pixels)
    ok = array.dtype.kind == "f" if encoding == "32FC1" else array.dtype == dtype
    if not ok:
        want = "a float" if encoding == "32FC1" else np.dtype(dtype).name
        raise FrameError(Reason.LAYOUT, f"encoding {encoding} needs dtype {want}, got {array.dtype.name}")
    return array


def array_from_buffer(buffer, height: int, width: int, step: int, encoding: str, is_bigendian: bool = False,
                      max_pixels: int = 4096 * 4096) -> np.ndarray:
    """A ``sensor_msgs/Image``-style buffer -> (H, W) or (H, W, 3) array in native byte order.

    The layout is checked first (data length must be step*height, as sensor_msgs/Image defines); the
    result may share memory with ``buffer`` (rows are only copied when padded or byte-swapped).
    """
    nbytes = len(buffer)
    dtype, channels = check_layout(height, width, encoding, max_pixels, step, nbytes)
    h, w, step = int(height), int(width), int(step)
    row = w * channels * np.dtype(dtype).itemsize
    rows = np.frombuffer(buffer, np.uint8).reshape(h, step)
    if step != row:
        rows = np.ascontiguousarray(rows[:, :row])
    wire = np.dtype(dtype).newbyteorder(">" if is_bigendian else "<")
    arr = rows.view(wire)
    if wire != np.dtype(dtype):
        arr = arr.astype(dtype)
    return arr.reshape((h, w, channels) if channels > 1 else (h, w))


def check_values(data: np.ndarray, kind: str, encoding: str, max_pixels: int) -> List[Issue]:
    """Values of a converted (H, W) float frame: refusals raise FrameError, notes are returned."""
    from .normalise import KIND_INTENSITY, KIND_TEMPERATURE

    if kind not in (KIND_TEMPERATURE, KIND_INTENSITY):
        raise FrameError(Reason.LAYOUT, f"unknown frame kind {kind!r} (expected {KIND_TEMPERATURE!r} or "
                         f"{KIND_INTENSITY!r})")
    if data.ndim != 2 or data.size == 0:
        raise FrameError(Reason.EMPTY, f"expected a non-empty (H, W) frame, got shape {data.shape}")
    check_layout(data.shape[0], data.shape[1], "32FC1", max_pixels)
    finite = np.isfinite(data)
    n_bad = int(finite.size - np.count_nonzero(finite))
    notes: List[Issue] = []
    if n_bad == finite.size:
        raise FrameError(Reason.NONFINITE, f"all {n_bad} pixels are NaN/inf ({encoding}); check the camera driver")
    if n_bad:
        notes.append(Issue(Reason.PARTIAL_NONFINITE, f"{n_bad} non-finite pixels treated as coldest"))
    del finite
    if kind == KIND_TEMPERATURE:
        sub = data[::4, ::4] if min(data.shape) >= 32 else data
        sub = sub[np.isfinite(sub)]
        med = float(np.median(sub)) if sub.size else 0.0
        lo, hi = PLAUSIBLE_SCENE_C
        if not lo <= med <= hi:
            raise FrameError(Reason.TEMPERATURE_RANGE, f"implausible temperatures ({encoding}): scene median "
                             f"{med:.1f} °C is outside [{lo:.0f}, {hi:.0f}] °C; {_unit_hint(med, encoding)}")
    return notes


def _unit_hint(median_c: float, encoding: str) -> str:
    lo, hi = PLAUSIBLE_SCENE_C
    if encoding in ("mono16", "16UC1"):
        return ("16-bit counts are read as radiometric: check radiometric_scale/radiometric_offset, or set "
                "radiometric_16bit: false for AGC counts")
    if lo <= median_c - 273.15 <= hi:
        return "the values look like kelvin: set float_unit: kelvin"
    if lo <= (median_c - 32.0) * 5.0 / 9.0 <= hi:
        return "the values look like fahrenheit: set float_unit: fahrenheit"
    return "check the camera's unit"
