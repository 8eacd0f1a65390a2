"""Camera intrinsics: the one approximation used without calibration, and the checks a calibration
(``camera_info`` or a camera_calibration YAML) must pass before head pose uses it.

A calibration that is not finite, has an unsupported distortion length, implausible focal lengths or
a distortion that folds the image is refused with one line; one made for another resolution of the
same aspect ratio is scaled (with a note), another aspect ratio is ignored (with a note). So head pose
never comes from a matrix that would make it NaN or put the head kilometres away.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

DEFAULT_HFOV_DEG = 57.0  # FLIR Lepton 3.x horizontal field of view: the assumed lens when no camera_info
SUPPORTED_D_LENGTHS = (0, 4, 5, 8, 12, 14)  # what OpenCV's solvePnP accepts
FOCAL_PER_WIDTH = (0.1, 100.0)  # fx / image width: a horizontal field of view between ~0.6 and ~160 degrees
ASPECT_TOLERANCE = 0.01  # calibration and image sizes whose aspect ratios differ less are scaled


class CameraInfoError(ValueError):
    """A calibration that cannot be used; the message says which value and why."""


@dataclass(frozen=True)
class Calibration:
    """Pinhole intrinsics ``K`` (3, 3) and distortion ``D`` for images of ``width`` x ``height``
    (0 x 0 = size not stated: taken to be the image's)."""

    K: np.ndarray
    D: np.ndarray
    width: int = 0
    height: int = 0
    distortion_model: str = "plumb_bob"

    @classmethod
    def checked(cls, K, D, width: int = 0, height: int = 0, distortion_model: str = "plumb_bob") -> Calibration:
        """Build and check what does not depend on the image: finite values, shape, D length."""
        k = np.asarray(K, np.float64)
        d = np.asarray(D if D is not None else [], np.float64).ravel()
        if k.size != 9:
            raise CameraInfoError(f"K has {k.size} values, expected 9")
        k = k.reshape(3, 3)
        if not np.isfinite(k).all():
            raise CameraInfoError(f"K is not finite: {k.ravel().tolist()}")
        if not np.isfinite(d).all():
            raise CameraInfoError(f"D is not finite: {d.tolist()}")
        if len(d) not in SUPPORTED_D_LENGTHS:
            raise CameraInfoError(f"D has {len(d)} coefficients; supported: "
                                  f"{', '.join(str(n) for n in SUPPORTED_D_LENGTHS)} (plumb_bob: 5)")
        if k[0, 0] <= 0 or k[1, 1] <= 0 or k[2, 2] != 1.0 or k[2, 0] != 0 or k[2, 1] != 0:
            raise CameraInfoError(f"K is not a camera matrix (fx, fy > 0, last row 0 0 1): {k.ravel().tolist()}")
        if int(width) < 0 or int(height) < 0 or (int(width) == 0) != (int(height) == 0):
            raise CameraInfoError(f"calibration size {width}x{height} is not a size")
        return cls(k, d, int(width), int(height), str(distortion_model or "plumb_bob"))


def approximate_intrinsics(width: int, height: int, hfov_deg: float = DEFAULT_HFOV_DEG) -> np.ndarray:
    """Pinhole K for an image of this size, principal point at the centre: used without calibration."""
    f = 0.5 * width / np.tan(np.deg2rad(hfov_deg) / 2.0)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def intrinsics_for(cal: Calibration, width: int, height: int) -> Tuple[np.ndarray, Optional[np.ndarray], str]:
    """(K, D or None, note) for images of ``width`` x ``height``; raises CameraInfoError when unusable.

    ``note`` is empty, or one line saying the calibration was scaled from another resolution.
    """
    k, note = cal.K.copy(), ""
    if cal.width and (cal.width, cal.height) != (width, height):
        sx, sy = width / cal.width, height / cal.height
        if abs(sx / sy - 1.0) > ASPECT_TOLERANCE:
            raise CameraInfoError(f"calibration is for {cal.width}x{cal.height}, the images are {width}x{height} "
                                  f"(another aspect ratio)")
        k[0] *= sx
        k[1] *= sy
        note = (f"camera_info is for {cal.width}x{cal.height}, the images are {width}x{height}: "
                f"intrinsics scaled by {sx:.3g}")
    lo, hi = FOCAL_PER_WIDTH
    for name, f in (("fx", k[0, 0]), ("fy", k[1, 1])):
        if not lo * width <= f <= hi * width:
            raise CameraInfoError(f"{name} = {f:.4g} px is implausible for {width} px wide images "
                                  f"(expected {lo * width:.4g}-{hi * width:.4g})")
    if not (-0.5 * width <= k[0, 2] <= 1.5 * width and -0.5 * height <= k[1, 2] <= 1.5 * height):
        raise CameraInfoError(f"principal point ({k[0, 2]:.1f}, {k[1, 2]:.1f}) is far outside the {width}x{height} "
                              f"image")
    d = cal.D if len(cal.D) and np.any(cal.D != 0) else None
    if d is not None:
        _check_distortion(k, d, width, height)
    return k, d, note


def _check_distortion(k: np.ndarray, d: np.ndarray, width: int, height: int) -> None:
    """Refuse a distortion that folds or blows up the image: along the ray to the farthest corner the
    distorted radius must grow monotonically and stay within a factor 4 of the pinhole radius."""
    corners = np.array([[0, 0], [width, 0], [0, height], [width, height]], np.float64)
    norm = (corners - k[:2, 2]) / np.array([k[0, 0], k[1, 1]])
    far = norm[np.argmax(np.hypot(norm[:, 0], norm[:, 1]))]
    t = np.linspace(0.05, 1.0, 20)[:, None]
    rays = np.hstack([t * far, np.ones((len(t), 1))])
    proj, _ = cv2.projectPoints(rays, np.zeros(3), np.zeros(3), np.eye(3), d)
    r_dist = np.hypot(*proj.reshape(-1, 2).T)
    r_pin = np.hypot(*(t * far).T)
    ratio = r_dist / r_pin
    if not (np.isfinite(ratio).all() and np.all(np.diff(r_dist) > 0) and ratio.min() > 0.25 and ratio.max() < 4.0):
        raise CameraInfoError(f"distortion D = {np.round(d, 6).tolist()} folds or stretches the image more than 4x "
                              f"within the frame (implausible)")


def load_calibration(path: str) -> Calibration:
    """camera_calibration YAML (image_width, image_height, camera_matrix, distortion_*) -> checked Calibration."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
    except OSError as exc:
        raise CameraInfoError(f"{path}: cannot read the calibration file ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise CameraInfoError(f"{path}: not valid YAML{where}") from exc
    try:
        k = doc["camera_matrix"]["data"]
        width, height = int(doc["image_width"]), int(doc["image_height"])
        d = (doc.get("distortion_coefficients") or {}).get("data", [])
        return Calibration.checked(k, d, width, height, doc.get("distortion_model", "plumb_bob"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CameraInfoError(f"{path}: not a usable camera calibration YAML (needs image_width, image_height, "
                              f"camera_matrix.data[9]): {exc}") from exc
