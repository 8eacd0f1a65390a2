"""Pinhole camera, head pose and projection shared by both modalities of a pair.

Pose convention (as ``cv2.solvePnP`` returns it for the mean face of ``thermal_fld_ros.schemes``):
``X_cam = R @ X_model + t``; the model frame is x subject's left, y down, z into the head, so a frontal
face looking into the camera has R = I.  Angles (degrees), applied as R = R_yaw @ R_pitch @ R_roll:
yaw > 0 when the subject turns to their left (nose moves to image right), pitch > 0 looking down
(nose moves down), roll > 0 tilting the head towards their right shoulder (top of head to image left).
This is the runtime's definition (``thermal_fld_ros.pose``: ``ypr_from_rotation(R @ MODEL_TO_HEAD)``
gives the same angles; test_synth checks it).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np


def intrinsics(width: int, height: int, hfov_deg: float) -> np.ndarray:
    """Square-pixel camera matrix with the principal point at the image centre."""
    f = (width / 2.0) / np.tan(np.deg2rad(hfov_deg) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def _rx(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def ypr_to_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotation model -> camera from yaw, pitch, roll in degrees (see module docstring)."""
    y, p, r = np.deg2rad([yaw, pitch, roll])
    return _ry(-y) @ _rx(p) @ _rz(-r)


def matrix_to_ypr(rot: np.ndarray) -> Tuple[float, float, float]:
    """Inverse of ``ypr_to_matrix`` (degrees); pitch in [-90, 90]."""
    rot = np.asarray(rot, np.float64)
    # R = Ry(-y) Rx(p) Rz(-r): R[1,2] = -sin p, R[0,2] = cos p sin(-y), R[2,2] = cos p cos(-y),
    # R[1,0] = cos p sin(-r), R[1,1] = cos p cos(-r)
    p = np.arcsin(np.clip(-rot[1, 2], -1.0, 1.0))
    y = -np.arctan2(rot[0, 2], rot[2, 2])
    r = -np.arctan2(rot[1, 0], rot[1, 1])
    return float(np.rad2deg(y)), float(np.rad2deg(p)), float(np.rad2deg(r))


def project(points_cam: np.ndarray, k: np.ndarray) -> np.ndarray:
    """(N, 3) camera-frame points -> (N, 2) pixels."""
    z = np.maximum(points_cam[:, 2:3], 1e-6)
    return points_cam[:, :2] / z * np.array([k[0, 0], k[1, 1]]) + np.array([k[0, 2], k[1, 2]])


def crop_intrinsics(k: np.ndarray, x0: float, y0: float, side: float, out: int) -> np.ndarray:
    """Intrinsics of the square crop [x0, x0 + side) x [y0, y0 + side) resampled to ``out`` pixels.

    A crop pixel j covers sensor [x0 + j s, x0 + (j + 1) s) with s = side / out; pixel centres at integers.
    """
    s = out / side
    kc = k.copy()
    kc[0, 0] *= s
    kc[1, 1] *= s
    kc[0, 2] = (k[0, 2] + 0.5 - x0) * s - 0.5
    kc[1, 2] = (k[1, 2] + 0.5 - y0) * s - 0.5
    return kc


def sample_ypr(rng: np.random.Generator, max_yaw: float = 90.0, max_pitch: float = 45.0,
               max_roll: float = 30.0, wide: float = 0.35, yaw_sd: float = 0.0) -> Tuple[float, float, float]:
    """Mostly near-frontal poses, with a ``wide`` share spread uniformly over the full ranges.

    ``yaw_sd`` (degrees, 0: ``max_yaw / 3``) sets the near-frontal spread apart from the range, so a recipe
    can reach full profile in its wide share without thinning out its frontal faces.
    """
    if rng.random() < wide:
        return (float(rng.uniform(-max_yaw, max_yaw)), float(rng.uniform(-max_pitch, max_pitch)),
                float(rng.uniform(-max_roll, max_roll)))
    return (float(np.clip(rng.normal(0, yaw_sd or max_yaw / 3), -max_yaw, max_yaw)),
            float(np.clip(rng.normal(0, max_pitch / 3.5), -max_pitch, max_pitch)),
            float(np.clip(rng.normal(0, max_roll / 3.5), -max_roll, max_roll)))
