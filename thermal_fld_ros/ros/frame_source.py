"""Frames from disk for the player: a folder of images, a video, or a ``.npy`` stack.

Each frame comes with the ``sensor_msgs/Image`` encoding its data implies (uint8 -> mono8, or bgr8
for a false-colour picture; uint16 -> mono16; float -> 32FC1), so the node gets what a camera of
that kind would send. Plain Python (no rclpy), so it is tested without middleware.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import cv2
import numpy as np
import yaml

from thermal_fld_ros.video import video_frames

IMAGE_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm")


def with_encoding(frame: np.ndarray, float_scale: float = 1.0, float_offset: float = 0.0
                  ) -> Tuple[np.ndarray, str]:
    """(array, encoding) for a frame as loaded by OpenCV (colour in BGR order) or numpy."""
    a = np.asarray(frame)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]  # drop alpha (e.g. RGBA palette PNGs)
    if a.ndim == 3 and a.shape[2] == 3:
        if a.dtype != np.uint8:
            raise ValueError(f"colour frames must be 8-bit, got {a.dtype}")
        if np.array_equal(a[:, :, 0], a[:, :, 1]) and np.array_equal(a[:, :, 1], a[:, :, 2]):
            return np.ascontiguousarray(a[:, :, 0]), "mono8"  # grey palette stored as 3 channels
        return np.ascontiguousarray(a), "bgr8"
    if a.ndim != 2:
        raise ValueError(f"cannot publish a frame of shape {a.shape}")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a), "mono8"
    if a.dtype == np.uint16:
        return np.ascontiguousarray(a), "mono16"
    if np.issubdtype(a.dtype, np.floating):
        return (a.astype(np.float32) * np.float32(float_scale) + np.float32(float_offset)), "32FC1"
    raise ValueError(f"unsupported frame dtype {a.dtype} (use uint8, uint16 or float)")


class FrameSource:
    """Sequential frames from ``path``; :meth:`frames` yields (array, encoding, name) and can loop."""

    def __init__(self, path: str, float_scale: float = 1.0, float_offset: float = 0.0):
        self.path = Path(path).expanduser()
        self.float_scale, self.float_offset = float_scale, float_offset
        if not str(path):
            raise ValueError("no source given (a folder of images, a video file, or a .npy stack)")
        if not self.path.exists():
            raise FileNotFoundError(f"source not found: {self.path}")
        self.files: List[Path] = []
        self.stack: Optional[np.ndarray] = None
        if self.path.is_dir():
            self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
            if not self.files:
                raise ValueError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {self.path}")
            self.kind = "folder"
        elif self.path.suffix.lower() == ".npy":
            stack = np.load(str(self.path), mmap_mode="r")
            if stack.ndim == 2:
                stack = stack[None]
            if stack.ndim != 3 or stack.shape[0] == 0:
                raise ValueError(f"{self.path}: expected a (N, H, W) or (H, W) array, got shape {stack.shape}")
            self.stack = stack
            self.kind = "npy"
        else:
            cap = cv2.VideoCapture(str(self.path))
            ok = cap.isOpened() and cap.read()[0]
            cap.release()
            if not ok:
                raise ValueError(f"{self.path}: not a folder, a .npy stack or a video OpenCV can read")
            self.kind = "video"

    def _once(self) -> Iterator[Tuple[np.ndarray, str, str]]:
        if self.kind == "folder":
            for p in self.files:
                img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
                if img is None:
                    raise ValueError(f"cannot read image {p}")
                yield (*with_encoding(img, self.float_scale, self.float_offset), p.name)
        elif self.kind == "npy":
            for i in range(self.stack.shape[0]):
                yield (*with_encoding(np.array(self.stack[i]), self.float_scale, self.float_offset), str(i))
        else:
            for i, img in enumerate(video_frames(self.path)):
                yield (*with_encoding(img), str(i))

    def frames(self, loop: bool = False) -> Iterator[Tuple[np.ndarray, str, str]]:
        while True:
            yield from self._once()
            if not loop:
                return


def approximate_camera_matrix(width: int, height: int, hfov_deg: float) -> np.ndarray:
    """Pinhole K from a horizontal field of view, principal point at the image centre."""
    f = (width / 2.0) / np.tan(np.deg2rad(hfov_deg) / 2.0)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def load_calibration(path: str) -> dict:
    """camera_calibration YAML (image_width, image_height, camera_matrix, distortion_*) -> plain dict."""
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    try:
        k = np.asarray(doc["camera_matrix"]["data"], np.float64).reshape(3, 3)
        width, height = int(doc["image_width"]), int(doc["image_height"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a camera calibration YAML (needs image_width, image_height, "
                         f"camera_matrix.data[9]): {exc}") from exc
    dist = np.asarray((doc.get("distortion_coefficients") or {}).get("data", []), np.float64)
    return {"width": width, "height": height, "K": k, "D": dist,
            "distortion_model": doc.get("distortion_model", "plumb_bob"),
            "R": np.asarray((doc.get("rectification_matrix") or {}).get("data", np.eye(3).ravel()),
                            np.float64).reshape(3, 3)}
