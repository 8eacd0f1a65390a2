"""Head pose from 2D landmarks: solvePnP against the scheme's 3D mean face.

Axes (REP-103 body axes, as REP-155 uses them for faces), expressed in the camera optical frame:
head x out of the face (towards the camera when frontal), y to the subject's left, z up.

Angles are intrinsic Z-Y-X (yaw, pitch, roll) of the head relative to a head that faces the camera
upright (head x = -optical z, head y = optical x, head z = -optical y):
  yaw   > 0: the subject turns to their left (their nose moves to the image right),
  pitch > 0: the subject looks down,
  roll  > 0: the subject tilts their head towards their right shoulder.
"""
from __future__ import annotations

from typing import Optional, Tuple

import cv2
import numpy as np

from .types import HeadPose

# Columns: head axes (x out of the face, y subject's left, z up) in the mean-face model frame
# (x subject's left, y down, z into the head).
MODEL_TO_HEAD = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
MIN_POINTS = 6
MAX_DISTANCE_M = 20.0  # a head farther than this is a solver failure (a face there spans a few pixels)


def ypr_from_rotation(rotation: np.ndarray) -> Tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a head rotation (columns = head axes in the optical frame)."""
    rel = MODEL_TO_HEAD.T @ np.asarray(rotation, np.float64)  # in the frontal head's own axes
    yaw = np.degrees(np.arctan2(rel[1, 0], rel[0, 0]))
    pitch = np.degrees(np.arcsin(np.clip(-rel[2, 0], -1.0, 1.0)))
    roll = np.degrees(np.arctan2(rel[2, 1], rel[2, 2]))
    return float(yaw), float(pitch), float(roll)


def rotation_from_ypr(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Inverse of :func:`ypr_from_rotation` (degrees -> head rotation in the optical frame)."""
    y, p, r = np.deg2rad([yaw, pitch, roll])
    rz = np.array([[np.cos(y), -np.sin(y), 0], [np.sin(y), np.cos(y), 0], [0, 0, 1]])
    ry = np.array([[np.cos(p), 0, np.sin(p)], [0, 1, 0], [-np.sin(p), 0, np.cos(p)]])
    rx = np.array([[1, 0, 0], [0, np.cos(r), -np.sin(r)], [0, np.sin(r), np.cos(r)]])
    return MODEL_TO_HEAD @ (rz @ ry @ rx)


def model_rotation(head_rotation: np.ndarray) -> np.ndarray:
    """Rotation of the mean-face model frame in the optical frame, for a head rotation."""
    return np.asarray(head_rotation, np.float64) @ MODEL_TO_HEAD.T


def estimate_pose(points_2d: np.ndarray, model_3d: np.ndarray, camera_matrix: np.ndarray,
                  dist_coeffs: Optional[np.ndarray] = None, scores: Optional[np.ndarray] = None,
                  min_score: float = 0.2, previous: Optional[HeadPose] = None) -> Optional[HeadPose]:
    """Head pose from (N, 2) image points and the (N, 3) mean face; None if too few usable points.

    ``previous`` (the same track's last pose) seeds the iterative solver, skipping the EPnP start.
    """
    pts = np.asarray(points_2d, np.float64)
    obj = np.asarray(model_3d, np.float64)
    ok = np.isfinite(pts).all(1) & np.isfinite(obj).all(1)
    if scores is not None:
        ok &= np.asarray(scores) >= min_score
    if ok.sum() < MIN_POINTS:
        return None
    pts, obj = pts[ok], obj[ok]
    dist = np.zeros(5) if dist_coeffs is None else np.asarray(dist_coeffs, np.float64).ravel()
    k = np.asarray(camera_matrix, np.float64)
    try:
        if previous is not None and np.isfinite(previous.translation).all() and previous.translation[2] > 0:
            rvec, _ = cv2.Rodrigues(model_rotation(previous.rotation))
            tvec = np.asarray(previous.translation, np.float64).reshape(3, 1).copy()
        else:
            found, rvec, tvec = cv2.solvePnP(obj, pts, k, dist, flags=cv2.SOLVEPNP_EPNP)
            if not found:
                return None
        found, rvec, tvec = cv2.solvePnP(obj, pts, k, dist, rvec, tvec, useExtrinsicGuess=True,
                                         flags=cv2.SOLVEPNP_ITERATIVE)
    except cv2.error:
        return None
    if not found or not np.isfinite(rvec).all() or not np.isfinite(tvec).all() or tvec[2, 0] <= 0:
        return None
    if float(np.linalg.norm(tvec)) > MAX_DISTANCE_M:
        return None
    r_model, _ = cv2.Rodrigues(rvec)
    proj, _ = cv2.projectPoints(obj, rvec, tvec, k, dist)
    err = float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - pts) ** 2, 1))))
    rot = r_model @ MODEL_TO_HEAD
    ypr = ypr_from_rotation(rot)
    if not (np.isfinite(rot).all() and np.isfinite(ypr).all()):  # never publish a NaN pose
        return None
    return HeadPose(rotation=rot, translation=tvec.ravel().copy(), yaw_pitch_roll_deg=ypr,
                    reprojection_error_px=err if np.isfinite(err) else float("nan"))
