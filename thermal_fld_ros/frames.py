"""Raw camera arrays -> a scalar thermal frame that says what its values mean.

A node, the CLI and the tests all enter the pipeline here, so every encoding a camera may publish
(8/16-bit AGC, 16-bit radiometric counts, float temperatures, false-colour palette streams) is turned
into one float32 (H, W) array plus its kind (temperature in °C, or monotonic intensity) in one place.
Bad frames raise :class:`FrameError` with a message naming the problem, never a numpy traceback.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from .normalise import KIND_INTENSITY, KIND_TEMPERATURE, NormaliseConfig
from .palettes import palette_to_intensity

__all__ = ["FrameError", "FrameConfig", "ThermalFrame", "ENCODINGS", "from_array", "array_from_buffer",
           "palette_to_intensity"]

# encoding -> (numpy dtype, channels)
ENCODINGS = {
    "mono8": (np.uint8, 1),
    "8UC1": (np.uint8, 1),
    "mono16": (np.uint16, 1),
    "16UC1": (np.uint16, 1),
    "32FC1": (np.float32, 1),
    "bgr8": (np.uint8, 3),
    "rgb8": (np.uint8, 3),
}


class FrameError(ValueError):
    """A frame that cannot be processed; the message names the problem (for a log line)."""


@dataclass
class FrameConfig:
    """How raw pixels become a thermal frame, and how that frame becomes the model's [0, 1] range."""

    radiometric_16bit: bool = True  # 16UC1/mono16 carry counts -> °C (FLIR TLinear); else AGC intensity
    radiometric_scale: float = 0.01  # °C per count (TLinear high-gain: 0.01 K/count)
    radiometric_offset: float = -273.15  # °C at count 0
    float_unit: str = "celsius"  # 32FC1 unit: 'celsius' or 'kelvin'
    palette: str = "auto"  # bgr8/rgb8 streams: 'auto' or a name in thermal_fld_ros.palettes.PALETTES
    # Reject (not downscale) frames above this: no thermal camera delivers more than a few megapixels, so a
    # larger frame is a wrong encoding/step or a corrupt message; resizing it would cost 100+ ms and hide that.
    max_pixels: int = 4096 * 4096
    temperature_window_c: Tuple[float, float] = (20.0, 40.0)  # radiometric frames: fixed window
    percentiles: Tuple[float, float] = (1.0, 99.5)  # non-radiometric frames: robust window

    def normalise_config(self) -> NormaliseConfig:
        return NormaliseConfig(temperature_window_c=tuple(float(v) for v in self.temperature_window_c),
                               percentiles=tuple(float(v) for v in self.percentiles))


@dataclass
class ThermalFrame:
    """A scalar thermal frame: ``data`` float32 (H, W), ``kind`` temperature (°C) or intensity."""

    data: np.ndarray
    kind: str
    encoding: str

    @property
    def width(self) -> int:
        return int(self.data.shape[1])

    @property
    def height(self) -> int:
        return int(self.data.shape[0])


def _check_shape(array: np.ndarray, encoding: str, cfg: FrameConfig) -> None:
    dtype, channels = ENCODINGS[encoding]
    if array.size == 0 or array.ndim < 2 or min(array.shape[:2]) == 0:
        raise FrameError(f"empty frame (shape {array.shape}, encoding {encoding})")
    if channels == 1 and not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 1)):
        raise FrameError(f"encoding {encoding} needs a (H, W) array, got shape {array.shape}")
    if channels == 3 and not (array.ndim == 3 and array.shape[2] == 3):
        raise FrameError(f"encoding {encoding} needs a (H, W, 3) array, got shape {array.shape}")
    h, w = array.shape[:2]
    if h * w > cfg.max_pixels:
        raise FrameError(f"frame too large: {w}x{h} = {h * w} pixels > max_pixels {cfg.max_pixels}")
    if array.dtype != dtype:
        raise FrameError(f"encoding {encoding} needs dtype {np.dtype(dtype).name}, got {array.dtype.name}")


def from_array(array: np.ndarray, encoding: str, cfg: FrameConfig | None = None) -> ThermalFrame:
    """Interpret ``array`` ((H, W) or (H, W, 3), already shaped) according to ``encoding``."""
    cfg = cfg or FrameConfig()
    if encoding not in ENCODINGS:
        raise FrameError(f"unsupported encoding {encoding!r}; supported: {', '.join(ENCODINGS)}")
    if not isinstance(array, np.ndarray):
        raise FrameError(f"frame must be a numpy array, got {type(array).__name__}")
    _check_shape(array, encoding, cfg)
    if array.ndim == 3 and ENCODINGS[encoding][1] == 1:
        array = array[:, :, 0]

    if encoding in ("mono8", "8UC1"):
        return ThermalFrame(array.astype(np.float32), KIND_INTENSITY, encoding)
    if encoding in ("mono16", "16UC1"):
        data = array.astype(np.float32)
        if cfg.radiometric_16bit:
            data *= np.float32(cfg.radiometric_scale)
            data += np.float32(cfg.radiometric_offset)
            return ThermalFrame(data, KIND_TEMPERATURE, encoding)
        return ThermalFrame(data, KIND_INTENSITY, encoding)
    if encoding == "32FC1":
        finite = np.isfinite(array)
        if not finite.any():
            raise FrameError("all pixels are NaN/inf in a 32FC1 frame")
        if cfg.float_unit == "kelvin":
            data = array - np.float32(273.15)
        elif cfg.float_unit == "celsius":
            data = array.astype(np.float32, copy=True)
        else:
            raise FrameError(f"float_unit must be 'celsius' or 'kelvin', got {cfg.float_unit!r}")
        return ThermalFrame(data.astype(np.float32, copy=False), KIND_TEMPERATURE, encoding)
    # bgr8 / rgb8: a false-colour (or grey) rendering; invert the palette to a scalar.
    rgb = array[:, :, ::-1] if encoding == "bgr8" else array
    try:
        data = palette_to_intensity(np.ascontiguousarray(rgb), cfg.palette)
    except ValueError as exc:
        raise FrameError(str(exc)) from exc
    return ThermalFrame(data, KIND_INTENSITY, encoding)


def array_from_buffer(buffer, height: int, width: int, step: int, encoding: str,
                      is_bigendian: bool = False) -> np.ndarray:
    """A ``sensor_msgs/Image``-style buffer -> (H, W) or (H, W, 3) array (copy), without cv_bridge.

    Checks that ``step`` and the buffer length agree with the size and encoding (rows may be padded).
    """
    if encoding not in ENCODINGS:
        raise FrameError(f"unsupported encoding {encoding!r}; supported: {', '.join(ENCODINGS)}")
    dtype, channels = ENCODINGS[encoding]
    height, width, step = int(height), int(width), int(step)
    if height <= 0 or width <= 0:
        raise FrameError(f"empty frame: {width}x{height}")
    row_bytes = width * channels * np.dtype(dtype).itemsize
    if step < row_bytes:
        raise FrameError(f"step {step} < width*channels*bytes {row_bytes} for {width}px {encoding}")
    raw = np.frombuffer(buffer, np.uint8)
    if raw.size < step * (height - 1) + row_bytes:
        raise FrameError(f"data size {raw.size} bytes != step*height {step * height} ({width}x{height} {encoding})")
    if step * height > 64 * 4096 * 4096:
        raise FrameError(f"frame too large: {width}x{height}")
    if raw.size >= step * height:
        rows = raw[: step * height].reshape(height, step)
    else:  # last row unpadded
        rows = np.zeros((height, step), np.uint8)
        rows.reshape(-1)[: raw.size] = raw
    rows = rows[:, :row_bytes]
    dt = np.dtype(dtype).newbyteorder(">" if is_bigendian else "<")
    arr = np.ascontiguousarray(rows).view(dt).astype(dtype, copy=False)
    shape = (height, width, channels) if channels > 1 else (height, width)
    return arr.reshape(shape)
