"""One face in one image, whatever dataset it came from: the common currency of the data layer.

Every loader (synthetic, CHARLOTTE, SF-TL54, T-FAKE, generic folder, YOLO boxes) returns
``FaceRecord`` lists; crops, augmentation, training and evaluation consume them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

import cv2
import numpy as np

from thermal_fld_ros.normalise import KIND_INTENSITY, KIND_TEMPERATURE


@dataclass(frozen=True)
class ThermalDecoding:
    """How stored pixels become a thermal frame.

    ``counts``: temperature_C = pixel * scale + offset (e.g. FLIR TLinear: scale 0.01, offset -273.15).
    ``celsius`` / ``fahrenheit`` / ``kelvin``: float arrays (.npy / .tiff) in that unit.
    ``intensity``: non-radiometric 8/16-bit (AGC) or palette-rendered images.
    """

    type: str = "intensity"
    scale: float = 1.0
    offset: float = 0.0

    def decode(self, pixels: np.ndarray):
        """Stored pixels -> (float32 (H, W), kind) ready for ``thermal_fld_ros.normalise.normalise``."""
        px = np.asarray(pixels)
        if px.ndim == 3:  # palette or grey-as-RGB images: the runtime's palette inversion is the reference
            from thermal_fld_ros.frames import palette_to_intensity

            px = palette_to_intensity(px)
        px = px.astype(np.float32)
        if self.type == "counts":
            return px * np.float32(self.scale) + np.float32(self.offset), KIND_TEMPERATURE
        if self.type == "celsius":
            return px, KIND_TEMPERATURE
        if self.type == "kelvin":
            return px - np.float32(273.15), KIND_TEMPERATURE
        if self.type == "fahrenheit":
            return (px - np.float32(32.0)) * np.float32(5.0 / 9.0), KIND_TEMPERATURE
        if self.type == "intensity":
            return px, KIND_INTENSITY
        raise ValueError(f"unknown thermal decoding {self.type!r}")


@dataclass
class FaceRecord:
    """A face: its thermal image, optional paired RGB image, landmarks in image pixels and what is known."""

    image_path: Path  # thermal image (png/tiff/jpg/npy)
    landmarks: np.ndarray  # (N, 2) float image pixels; NaN where the dataset has no point
    scheme: str  # name in thermal_fld_ros.schemes
    decoding: ThermalDecoding = field(default_factory=ThermalDecoding)
    visible: Optional[np.ndarray] = None  # (N,) 1 visible / 0 occluded (self-occlusion, out of frame)
    rgb_path: Optional[Path] = None  # paired RGB image with the same geometry (same camera, pixel-aligned)
    box: Optional[np.ndarray] = None  # [x0, y0, x1, y1] face box, pixels
    pose_ypr_deg: Optional[np.ndarray] = None  # true head pose (yaw, pitch, roll), where known
    camera_matrix: Optional[np.ndarray] = None  # (3, 3) intrinsics, where known
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def has_rgb(self) -> bool:
        return self.rgb_path is not None


def read_image(path: Path) -> np.ndarray:
    """Read an image or .npy array unchanged in depth (8/16-bit, float); clear errors for bad files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    if path.suffix.lower() == ".npy":
        arr = np.load(path)
    else:
        arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise ValueError(f"unreadable image: {path}")
        if arr.ndim == 3 and arr.shape[2] == 4:
            arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR)
        if arr.ndim == 3:
            arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    return arr


def load_thermal(record: FaceRecord):
    """The record's thermal frame as (float32 (H, W), kind)."""
    return record.decoding.decode(read_image(record.image_path))
