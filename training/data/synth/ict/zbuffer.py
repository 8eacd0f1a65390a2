"""A z-buffer triangle rasteriser compiled with numba: triangle id, perspective-correct barycentrics and
depth per pixel. No back-face culling (the ICT mesh is open: neck, mouth socket).

Pixel centres at integer coordinates, as in OpenCV's projection and drawing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

NEAR = 0.05  # metres


@numba.njit(cache=True, nogil=True)
def _raster(uv, z, faces, width, height, tri, bary, inv_depth):
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        za, zb, zc = z[a], z[b], z[c]
        if za <= NEAR or zb <= NEAR or zc <= NEAR:
            continue
        ax, ay = uv[a, 0], uv[a, 1]
        bx, by = uv[b, 0], uv[b, 1]
        cx, cy = uv[c, 0], uv[c, 1]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if abs(area) < 1e-12:
            continue
        x0 = max(int(np.ceil(min(ax, bx, cx))), 0)
        x1 = min(int(np.floor(max(ax, bx, cx))), width - 1)
        y0 = max(int(np.ceil(min(ay, by, cy))), 0)
        y1 = min(int(np.floor(max(ay, by, cy))), height - 1)
        if x0 > x1 or y0 > y1:
            continue
        ia, ib, ic = 1.0 / za, 1.0 / zb, 1.0 / zc
        inv = 1.0 / area
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                w0 = ((bx - x) * (cy - y) - (by - y) * (cx - x)) * inv
                w1 = ((cx - x) * (ay - y) - (cy - y) * (ax - x)) * inv
                w2 = 1.0 - w0 - w1
                if w0 < -1e-9 or w1 < -1e-9 or w2 < -1e-9:
                    continue
                iz = w0 * ia + w1 * ib + w2 * ic
                if iz <= inv_depth[y, x]:
                    continue
                inv_depth[y, x] = iz
                tri[y, x] = f
                bary[y, x, 0] = w0 * ia / iz
                bary[y, x, 1] = w1 * ib / iz
                bary[y, x, 2] = w2 * ic / iz


@dataclass
class ZBuffer:
    tri: np.ndarray  # (H, W) int32, -1 = background
    bary: np.ndarray  # (H, W, 3) float32 perspective-correct barycentrics
    depth: np.ndarray  # (H, W) float32 camera z, +inf = background

    @property
    def mask(self) -> np.ndarray:
        return self.tri >= 0

    def interpolate(self, faces: np.ndarray, attrs: np.ndarray):
        """(N,) ys, (N,) xs and (N, C) attributes of the covered pixels."""
        ys, xs = np.nonzero(self.tri >= 0)
        f = faces[self.tri[ys, xs]]
        w = self.bary[ys, xs]
        out = (attrs[f[:, 0]] * w[:, 0:1] + attrs[f[:, 1]] * w[:, 1:2] + attrs[f[:, 2]] * w[:, 2:3])
        return ys, xs, out


def rasterise(uv: np.ndarray, z: np.ndarray, faces: np.ndarray, width: int, height: int) -> ZBuffer:
    """uv (V, 2) pixels, z (V,) camera depth (metres), faces (F, 3)."""
    tri = np.full((height, width), -1, np.int32)
    bary = np.zeros((height, width, 3), np.float32)
    inv_depth = np.zeros((height, width), np.float64)
    if len(faces):
        _raster(np.ascontiguousarray(uv, np.float64), np.ascontiguousarray(z, np.float64),
                np.ascontiguousarray(faces, np.int64), int(width), int(height), tri, bary, inv_depth)
    with np.errstate(divide="ignore"):
        depth = np.where(inv_depth > 0, 1.0 / np.maximum(inv_depth, 1e-30), np.inf).astype(np.float32)
    return ZBuffer(tri, bary, depth)


@numba.njit(cache=True, nogil=True)
def _normals(v, faces, out):
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        e1x, e1y, e1z = v[b, 0] - v[a, 0], v[b, 1] - v[a, 1], v[b, 2] - v[a, 2]
        e2x, e2y, e2z = v[c, 0] - v[a, 0], v[c, 1] - v[a, 1], v[c, 2] - v[a, 2]
        nx, ny, nz = e1y * e2z - e1z * e2y, e1z * e2x - e1x * e2z, e1x * e2y - e1y * e2x
        for i in (a, b, c):
            out[i, 0] += nx
            out[i, 1] += ny
            out[i, 2] += nz
    for i in range(out.shape[0]):
        n = np.sqrt(out[i, 0] ** 2 + out[i, 1] ** 2 + out[i, 2] ** 2) + 1e-12
        out[i, 0] /= n
        out[i, 1] /= n
        out[i, 2] /= n


def vertex_normals(v: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (the triangles' winding decides the side)."""
    out = np.zeros((len(v), 3), np.float64)
    _normals(np.ascontiguousarray(v, np.float64), np.ascontiguousarray(faces, np.int64), out)
    return out
