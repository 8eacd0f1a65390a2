"""A small z-buffer rasteriser: triangle ids by painter's order (OpenCV fills, far to near), then
perspective-correct barycentric interpolation of per-vertex attributes, all vectorised in numpy.

Pixel centres are at integer coordinates, as in OpenCV's projection and drawing.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_SHIFT = 4  # sub-pixel bits for cv2.fillConvexPoly
NEAR = 0.05  # metres


@dataclass
class Raster:
    tri: np.ndarray  # (H, W) int32 triangle index, -1 = background
    depth: np.ndarray  # (H, W) float32 camera z, +inf = background
    attrs: np.ndarray  # (H, W, C) float32 interpolated attributes (0 on background)

    @property
    def mask(self) -> np.ndarray:
        return self.tri >= 0


def rasterise(uv: np.ndarray, z: np.ndarray, faces: np.ndarray, attrs: np.ndarray, size, cull: np.ndarray):
    """Render triangles.

    uv (V, 2) pixel coordinates, z (V,) camera depth, faces (F, 3), attrs (V, C), size (W, H);
    cull (F,) bool: triangles to drop back-facing ones of (two-sided triangles pass False).
    """
    w, h = int(size[0]), int(size[1])
    tri_img = np.full((h, w), -1, np.int32)
    fz = z[faces]
    fuv = uv[faces]  # (F, 3, 2)
    e1 = fuv[:, 1] - fuv[:, 0]
    e2 = fuv[:, 2] - fuv[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = (fz > NEAR).all(1) & (np.abs(area) > 1e-9)
    ok &= ~(cull & (area > 0))  # counter-clockwise outward triangles project clockwise (y down) when facing us
    lo, hi = fuv.min(1), fuv.max(1)
    ok &= (hi[:, 0] >= -1) & (hi[:, 1] >= -1) & (lo[:, 0] <= w) & (lo[:, 1] <= h)
    idx = np.nonzero(ok)[0]
    order = idx[np.argsort(-fz[idx].mean(1), kind="stable")]
    pts = np.round(fuv * (1 << _SHIFT)).astype(np.int32)
    fill = cv2.fillConvexPoly
    for f in order.tolist():
        fill(tri_img, pts[f], (f,), 8, _SHIFT)
    depth = np.full((h, w), np.inf, np.float32)
    out = np.zeros((h, w, attrs.shape[1]), np.float32)
    ys, xs = np.nonzero(tri_img >= 0)
    if len(ys):
        f = tri_img[ys, xs]
        a, b, c = fuv[f, 0], fuv[f, 1], fuv[f, 2]
        d = area[f]
        px, py = xs.astype(np.float64), ys.astype(np.float64)
        w0 = ((b[:, 0] - px) * (c[:, 1] - py) - (b[:, 1] - py) * (c[:, 0] - px)) / d
        w1 = ((c[:, 0] - px) * (a[:, 1] - py) - (c[:, 1] - py) * (a[:, 0] - px)) / d
        bary = np.clip(np.stack([w0, w1, 1.0 - w0 - w1], 1), 0.0, 1.0)
        zi = fz[f]
        bw = bary / zi
        bw /= bw.sum(1, keepdims=True)
        depth[ys, xs] = (bw * zi).sum(1)
        out[ys, xs] = np.einsum("nk,nkc->nc", bw, attrs[faces[f]])
    return Raster(tri_img, depth, out)
