"""Triangle meshes of one head (skull+face grid, ears, neck) and of its glasses, with per-vertex attributes
that the renderers interpolate: frontal base (x, y) for the face textures, front weight, hair cover."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from training.data.synth.face_model import (
    PART_EAR,
    PART_GLASSES,
    PART_HEAD,
    PART_NECK,
    FaceParams,
    base_points,
    front_weight,
    hair_mask,
    mouth_rows,
    surface_points,
)

N_THETA = 76


@dataclass
class Mesh:
    vertices: np.ndarray  # (V, 3) model frame, metres
    faces: np.ndarray  # (F, 3) int32, counter-clockwise seen from outside
    base_xy: np.ndarray  # (V, 2) frontal skull coordinates (face texture lookup)
    front: np.ndarray  # (V,) 1 on the face
    hair: np.ndarray  # (V,) hair cover 0..1
    part: np.ndarray  # (V,) PART_* id
    two_sided: bool = False


@lru_cache(maxsize=4)
def _theta_grid(n: int) -> np.ndarray:
    u = np.linspace(-1.0, 1.0, n, endpoint=False)
    return np.pi * (0.55 * u + 0.45 * u ** 3)  # dense on the face, coarse at the back


def _phi_grid(rows_mouth) -> np.ndarray:
    face = np.deg2rad(np.arange(-62.0, 42.0, 2.6))
    top = np.deg2rad(np.arange(42.0, 89.0, 5.0))
    bottom = np.deg2rad(np.arange(-86.0, -62.0, 5.0))
    phi = np.concatenate([bottom, face, top])
    keep = np.ones(len(phi), bool)
    for r in rows_mouth:
        keep &= np.abs(phi - r) > np.deg2rad(0.6)
    return np.sort(np.concatenate([phi[keep], np.asarray(rows_mouth)]))


def _grid_faces(n_rows: int, n_cols: int, wrap: bool = True) -> np.ndarray:
    """Two triangles per cell of a (rows x cols) vertex grid, columns wrapping around."""
    r, c = np.meshgrid(np.arange(n_rows - 1), np.arange(n_cols if wrap else n_cols - 1), indexing="ij")
    r, c = r.ravel(), c.ravel()
    c1 = (c + 1) % n_cols
    a, b, d, e = r * n_cols + c, r * n_cols + c1, (r + 1) * n_cols + c, (r + 1) * n_cols + c1
    return np.concatenate([np.stack([a, d, b], 1), np.stack([b, d, e], 1)]).astype(np.int32)


def _ellipsoid(n_u: int, n_v: int):
    """Unit sphere grid (without poles' degeneracy handling; tiny parts only)."""
    v = np.linspace(-np.pi / 2 * 0.97, np.pi / 2 * 0.97, n_v)
    u = np.linspace(0, 2 * np.pi, n_u, endpoint=False)
    vv, uu = np.meshgrid(v, u, indexing="ij")
    pts = np.stack([np.cos(vv) * np.cos(uu), np.sin(vv), np.cos(vv) * np.sin(uu)], -1).reshape(-1, 3)
    return pts, _grid_faces(n_v, n_u)


def head_mesh(p: FaceParams, origin: np.ndarray) -> Mesh:
    """Skull + face grid, two ears and a neck, shifted so that ``origin`` (between the pupils) is 0."""
    rows = mouth_rows(p)
    phi = _phi_grid(rows)
    theta = _theta_grid(N_THETA)
    pp, tt = np.meshgrid(phi, theta, indexing="ij")
    pts, bxy = surface_points(tt, pp, p)
    verts = [pts.reshape(-1, 3)]
    base = [bxy.reshape(-1, 2)]
    front = [front_weight(tt, pp).ravel()]
    hair = [hair_mask(tt, pp, p).ravel()]
    part = [np.full(pts.shape[0] * pts.shape[1], PART_HEAD)]
    # grid cells with the column index reversed give outward (counter-clockwise) triangles
    faces = [_grid_faces(len(phi), len(theta))[:, ::-1]]
    n = verts[0].shape[0]
    # pole caps
    top = base_points(np.zeros(1), np.array([np.pi / 2]), p)
    bot = base_points(np.zeros(1), np.array([-np.pi / 2]), p)
    cols = np.arange(len(theta))
    last = (len(phi) - 1) * len(theta)
    faces.append(np.stack([np.full_like(cols, n), last + cols, last + (cols + 1) % len(theta)], 1)[:, ::-1])
    faces.append(np.stack([np.full_like(cols, n + 1), (cols + 1) % len(theta), cols], 1)[:, ::-1])
    verts.append(np.concatenate([top, bot]))
    base.append(np.zeros((2, 2)))
    front.append(np.zeros(2))
    hair.append(np.array([1.0 if p.hair != "none" else 0.0, 0.0]))
    part.append(np.full(2, PART_HEAD))
    n += 2
    k = p.scale
    # ears: flattened ellipsoids beside the head, flaring outwards at the back
    sphere, sfaces = _ellipsoid(12, 8)
    ear_y, ear_z = 0.020 * k, p.centre_z * k + 0.006 * k
    side = base_points(np.array([np.pi / 2]), np.array([-np.arcsin((ear_y - p.centre_y * k) / (p.head_w * k))]), p)
    for sgn in (-1.0, 1.0):
        e = sphere * np.array([0.006, 0.031, 0.018]) * k
        a = np.deg2rad(20.0) * sgn
        rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        e = e @ rot.T + np.array([sgn * (abs(side[0, 0]) + 0.002 * k), ear_y, ear_z])
        verts.append(e)
        faces.append(sfaces + n if sgn > 0 else sfaces[:, ::-1] + n)
        base.append(e[:, :2])
        front.append(np.zeros(len(e)))
        hair.append(np.zeros(len(e)))
        part.append(np.full(len(e), PART_EAR))
        n += len(e)
    # neck: an elliptic cylinder under the head
    ang = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    ys = np.linspace(0.05, 0.21, 4) * k
    yy, aa = np.meshgrid(ys, ang, indexing="ij")
    neck = np.stack([0.056 * k * np.cos(aa), yy, p.centre_z * k + 0.012 * k + 0.052 * k * np.sin(aa)], -1)
    neck = neck.reshape(-1, 3)
    verts.append(neck)
    faces.append(_grid_faces(len(ys), len(ang))[:, ::-1] + n)
    base.append(neck[:, :2])
    front.append(np.zeros(len(neck)))
    hair.append(np.zeros(len(neck)))
    part.append(np.full(len(neck), PART_NECK))
    v = np.concatenate(verts) - origin
    return Mesh(v, np.concatenate(faces).astype(np.int32), np.concatenate(base), np.concatenate(front),
                np.concatenate(hair), np.concatenate(part))


def glasses_mesh(p: FaceParams, origin: np.ndarray, eye_front_z: float) -> Mesh:
    """Two lenses with a frame and a bridge in front of the eyes (two-sided: seen from both sides).

    ``eye_front_z``: model-frame z of the most forward eye-region point; the lenses sit ``offset`` ahead.
    """
    st = p.glasses_style or {"half_w": 0.025, "half_h": 0.017, "offset": 0.015, "round": 0.6}
    k = p.scale
    hw, hh = st["half_w"] * k, st["half_h"] * k
    z = eye_front_z - st["offset"] * k
    t = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    ex = 2.0 / (1.0 + st["round"] * 1.5)  # superellipse exponent: 2 = ellipse, smaller = boxier
    cx, sx = np.cos(t), np.sin(t)
    outline = np.stack([np.sign(cx) * np.abs(cx) ** ex * hw, np.sign(sx) * np.abs(sx) ** ex * hh], -1)
    verts, faces, part = [], [], []
    n = 0
    for sgn in (-1.0, 1.0):
        centre = np.array([sgn * p.eye_half * k, 0.002 * k])
        inner = outline + centre
        outer = outline * np.array([1 + 0.004 / st["half_w"], 1 + 0.004 / st["half_h"]]) + centre
        m = len(t)
        ring = np.concatenate([inner, outer, centre[None]])
        verts.append(np.concatenate([ring, np.full((len(ring), 1), z)], 1))
        i = np.arange(m)
        j = (i + 1) % m
        lens = np.stack([np.full(m, 2 * m), i, j], 1)
        frame = np.concatenate([np.stack([i, m + i, j], 1), np.stack([j, m + i, m + j], 1)])
        faces.append(np.concatenate([lens, frame]) + n)
        part.append(np.concatenate([np.zeros(m * 2), np.zeros(1)]))
        n += len(ring)
    # bridge between the inner frame edges
    bw = p.eye_half * k - hw
    br = np.array([[-bw, -0.002 * k, z], [bw, -0.002 * k, z], [bw, 0.002 * k, z], [-bw, 0.002 * k, z]])
    verts.append(br)
    faces.append(np.array([[n, n + 1, n + 2], [n, n + 2, n + 3]]))
    part.append(np.zeros(4))
    v = np.concatenate(verts)
    f = np.concatenate(faces).astype(np.int32)
    # per-vertex lens flag: the lens fan centre and inner ring (0) vs frame (1): store in `front`
    is_frame = np.ones(len(v))
    m = len(t)
    for s in range(2):
        off = s * (2 * m + 1)
        is_frame[off:off + m] = 0.0  # inner ring shared by lens and frame: lens where it is interpolated
        is_frame[off + 2 * m] = 0.0
    return Mesh(v, f, v[:, :2].copy(), is_frame, np.zeros(len(v)), np.full(len(v), PART_GLASSES),
                two_sided=True)
