"""Face region masks drawn in frontal (x, y) coordinates from the head's own landmark template, so that
lips end exactly at the mouth-corner landmarks, irises sit on the pupils, and so on, in both modalities.

Channels: 0 lips, 1 mouth interior, 2 eye opening (sclera), 3 iris, 4 pupil, 5 brows, 6 nostrils,
7 inner canthi (warm spots).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from training.data.synth.face_model import FaceParams, _landmark_xy

RES = 0.0006  # metres per texel
X0, X1, Y0, Y1 = -0.085, 0.085, -0.060, 0.135
LIPS, MOUTH, SCLERA, IRIS, PUPIL, BROWS, NOSTRILS, CANTHI = range(8)


@dataclass
class FaceTexture:
    maps: np.ndarray  # (H, W, 8) float32 masks 0..1
    scale: float  # head scale: texel (i, j) <-> frontal (x, y) = ((j * RES + X0), (i * RES + Y0)) * scale

    def lookup(self, xy: np.ndarray) -> np.ndarray:
        """Bilinear lookup at frontal coordinates (..., 2) -> (..., 8); 0 outside."""
        shp = xy.shape[:-1]
        u = ((xy[..., 0] / self.scale - X0) / RES).astype(np.float32).ravel()
        v = ((xy[..., 1] / self.scale - Y0) / RES).astype(np.float32).ravel()
        n = u.size
        # cv2.remap needs map sides < 32767: lay the lookups out as rows of at most 1024 (large scenes).
        cols = min(max(n, 1), 1024)
        rows = -(-max(n, 1) // cols)
        pad = rows * cols - n
        u = np.pad(u, (0, pad), constant_values=-1.0).reshape(rows, cols)
        v = np.pad(v, (0, pad), constant_values=-1.0).reshape(rows, cols)
        out = []
        for c in range(0, self.maps.shape[2], 4):
            out.append(cv2.remap(self.maps[:, :, c:c + 4], u, v, cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0).reshape(-1, 4)[:n])
        return np.concatenate(out, 1).reshape(shp + (self.maps.shape[2],))


def _px(pts: np.ndarray) -> np.ndarray:
    return np.round(np.stack([(pts[:, 0] - X0) / RES, (pts[:, 1] - Y0) / RES], 1) * 16).astype(np.int32)


def face_texture(p: FaceParams) -> FaceTexture:
    """Draw the region masks of this identity (unscaled template coordinates)."""
    xy = _landmark_xy(p)
    w, h = int(round((X1 - X0) / RES)), int(round((Y1 - Y0) / RES))
    ch = np.zeros((8, h, w), np.uint8)  # drawn as 8-bit (OpenCV anti-aliasing), converted once
    aa = cv2.LINE_AA
    cv2.fillPoly(ch[LIPS], [_px(xy[48:60])], 255, aa, 4)
    cv2.fillPoly(ch[MOUTH], [_px(xy[60:68])], 255, aa, 4)
    cv2.fillPoly(ch[SCLERA], [_px(xy[36:42])], 255, aa, 4)
    cv2.fillPoly(ch[SCLERA], [_px(xy[42:48])], 255, aa, 4)
    for pupil in (68, 69):
        c = _px(xy[pupil:pupil + 1])[0]
        centre = (int(c[0]), int(c[1]))
        cv2.circle(ch[IRIS], centre, int(0.0058 / RES * 16), 255, -1, aa, 4)
        cv2.circle(ch[PUPIL], centre, int(0.0022 / RES * 16), 255, -1, aa, 4)
    thick = int(0.0045 / RES)
    for idx in (slice(17, 22), slice(22, 27)):
        cv2.polylines(ch[BROWS], [_px(xy[idx])], False, 255, thick, aa, 4)
    ch[BROWS] = cv2.GaussianBlur(ch[BROWS], (0, 0), 2.0)
    axes = (int(0.0032 / RES * 16), int(0.0016 / RES * 16))
    for i in (32, 34):
        c = _px(xy[i:i + 1] + np.array([[0.0, -0.0025]]))[0]
        cv2.ellipse(ch[NOSTRILS], (int(c[0]), int(c[1])), axes, 0, 0, 360, 255, -1, aa, 4)
    ch[NOSTRILS] = cv2.GaussianBlur(ch[NOSTRILS], (0, 0), 1.5)
    maps = np.ascontiguousarray(ch.transpose(1, 2, 0)).astype(np.float32) * np.float32(1.0 / 255.0)
    maps[:, :, LIPS] *= 1.0 - maps[:, :, MOUTH]
    maps[:, :, IRIS] *= maps[:, :, SCLERA]  # lids cover the iris
    maps[:, :, PUPIL] *= maps[:, :, SCLERA]
    sig = 0.0035
    half = int(4 * sig / RES)
    for i in (39, 42):
        ci, cj = int(round((xy[i, 1] - Y0) / RES)), int(round((xy[i, 0] - X0) / RES))
        i0, i1, j0, j1 = max(ci - half, 0), min(ci + half, h), max(cj - half, 0), min(cj + half, w)
        gy, gx = np.mgrid[i0:i1, j0:j1]
        d2 = (gx * RES + X0 - xy[i, 0]) ** 2 + (gy * RES + Y0 - xy[i, 1]) ** 2
        maps[i0:i1, j0:j1, CANTHI] += np.exp(-d2 / (2 * sig ** 2))
    return FaceTexture(maps, p.scale)
