"""Raw camera arrays -> a scalar thermal frame that says what its values mean.

A node, the CLI and the tests all enter the pipeline here, so every encoding a camera may publish
(8/16-bit AGC, 16-bit radiometric counts, float temperatures, false-colour palette streams) is turned
into one float32 (H, W) array plus its kind (temperature in °C, or monotonic intensity) in one place.
Layout checks are :mod:`thermal_fld_ros.ingest`'s (bad frames raise its :class:`FrameError`, typed).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from .ingest import ENCODINGS, FrameError, check_array
from .normalise import KIND_INTENSITY, KIND_TEMPERATURE, NormaliseConfig
from .palettes import palette_to_intensity
from .types import Reason

__all__ = ["FrameError", "FrameConfig", "ThermalFrame", "ENCODINGS", "FLOAT_UNITS", "from_array",
           "palette_to_intensity"]

FLOAT_UNITS = ("celsius", "kelvin", "fahrenheit")


@dataclass
class FrameConfig:
    """How raw pixels become a thermal frame, and how that frame becomes the model's [0, 1] range."""

    radiometric_16bit: bool = True  # 16UC1/mono16 carry counts -> °C (FLIR TLinear); else AGC intensity
    radiometric_scale: float = 0.01  # °C per count (TLinear high-gain: 0.01 K/count)
    radiometric_offset: float = -273.15  # °C at count 0
    float_unit: str = "celsius"  # 32FC1 unit: one of FLOAT_UNITS
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


def from_array(array: np.ndarray, encoding: str, cfg: FrameConfig | None = None) -> ThermalFrame:
    """Interpret ``array`` ((H, W) or (H, W, 3), already shaped) according to ``encoding``."""
    cfg = cfg or FrameConfig()
    array = check_array(array, encoding, cfg.max_pixels)

    if encoding in ("mono8", "8UC1"):
        return ThermalFrame(array.astype(np.float32), KIND_INTENSITY, encoding)
    if encoding in ("mono16", "16UC1"):
        data = array.astype(np.float32)
        if cfg.radiometric_16bit:
            data *= np.float32(cfg.radiometric_scale)
            data += np.float32(cfg.radiometric_offset)
            return ThermalFrame(data, KIND_TEMPERATURE, encoding)
        return ThermalFrame(data, KIND_INTENSITY, encoding)
    if encoding == "32FC1":  # one float32 copy whatever the input dtype (float64 from np.save included)
        data = array.astype(np.float32, copy=True)
        if cfg.float_unit == "kelvin":
            data -= np.float32(273.15)
        elif cfg.float_unit == "fahrenheit":
            data -= np.float32(32.0)
            data *= np.float32(5.0 / 9.0)
        elif cfg.float_unit != "celsius":
            raise ValueError(f"float_unit must be one of {', '.join(FLOAT_UNITS)}, got {cfg.float_unit!r}")
        return ThermalFrame(data, KIND_TEMPERATURE, encoding)
    # bgr8 / rgb8: a false-colour (or grey) rendering; invert the palette to a scalar.
    rgb = array[:, :, ::-1] if encoding == "bgr8" else array
    try:
        data = palette_to_intensity(np.ascontiguousarray(rgb), cfg.palette)
    except ValueError as exc:
        raise FrameError(Reason.PALETTE, str(exc)) from exc
    return ThermalFrame(data, KIND_INTENSITY, encoding)
