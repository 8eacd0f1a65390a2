"""A parametric 3D head: one analytic surface that the mesh, the landmarks and the textures all share.

No registry package ships a usable face mesh with a licence that fits (``eos-py``'s wheel carries no
model; MediaPipe's canonical mesh needs a 1 GB install and has no back of head), so the head is built
here: a superquadric skull around a centre behind the eyes, a face relief (brow ridge, eye sockets and
eyeballs, nose with alae, cheekbones, lips, chin) pushed towards the camera as a height field of the
*frontal* coordinates (X, Y), ears and a neck as separate closed parts. Everything is parametrised by
the direction (theta, phi) from the head centre; landmarks are surface points at given frontal (X, Y),
so they lie exactly on what is rendered and the textures (drawn in frontal X, Y) follow every
deformation (identity, jaw open, smile, brows).

Model frame (``thermal_fld_ros.schemes``): metres, x to the subject's left (image right of a frontal
face), y down, z into the head; origin between the pupils.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, Tuple

import numpy as np

N_LANDMARKS = 70
PART_HEAD, PART_EAR, PART_NECK, PART_GLASSES = 0, 1, 2, 3
JAW_MAX_DEG = 14.0  # jaw_open = 1
SQ_EXP = 2.6  # superquadric exponent: > 2 flattens the face front and the skull sides


@dataclass
class FaceParams:
    """Identity, expression and accessories of one synthetic head (lengths in metres)."""

    scale: float = 1.0
    head_w: float = 0.078  # skull half-width
    head_up: float = 0.128  # centre to crown
    head_down: float = 0.150  # centre to under the chin
    head_front: float = 0.100
    head_back: float = 0.108
    jaw_taper: float = 0.26  # narrowing of the lower head towards the chin
    centre_z: float = 0.094  # head centre behind the eyes
    centre_y: float = 0.008
    eye_half: float = 0.032  # half the inter-pupil distance
    eye_w: float = 0.029  # palpebral fissure width
    eye_h: float = 0.0105
    nose_tip_y: float = 0.045
    nose_protr: float = 0.021
    nose_half_w: float = 0.017  # alar half-width
    mouth_half: float = 0.025
    mouth_y: float = 0.080
    lip_up: float = 0.0085
    lip_low: float = 0.0095
    chin_y: float = 0.118
    chin_protr: float = 0.009
    cheek: float = 0.006
    brow_ridge: float = 0.004
    brow_y: float = -0.024
    # expression
    jaw_open: float = 0.0  # 0..1 -> up to JAW_MAX_DEG
    smile: float = 0.0  # 0..1
    brow_raise: float = 0.0  # -0.5..1
    # accessories
    hair: str = "short"  # none | short | long
    hair_thick: float = 0.010
    hairline: float = 0.0  # shifts the hairline (radians, + = receding)
    glasses: bool = False
    glasses_style: Dict[str, float] = field(default_factory=dict)


def sample_face_params(rng: np.random.Generator, expressions: bool = True, accessories: bool = True,
                       glasses_prob: float = 0.25) -> FaceParams:
    """Draw a random identity (+ expression and accessories) from the generator's distribution."""
    def n(sd: float) -> float:
        return float(np.clip(rng.normal(0.0, sd), -2.5 * sd, 2.5 * sd))

    p = FaceParams()
    p = replace(
        p, scale=1.0 + n(0.04), head_w=p.head_w * (1 + n(0.04)), head_up=p.head_up * (1 + n(0.04)),
        head_down=p.head_down * (1 + n(0.04)), head_front=p.head_front * (1 + n(0.03)),
        head_back=p.head_back * (1 + n(0.04)), jaw_taper=p.jaw_taper + n(0.05),
        eye_half=p.eye_half + n(0.0015), eye_w=p.eye_w + n(0.0012), eye_h=p.eye_h + n(0.0012),
        nose_tip_y=p.nose_tip_y + n(0.003), nose_protr=p.nose_protr + n(0.0025),
        nose_half_w=p.nose_half_w + n(0.0015), mouth_half=p.mouth_half + n(0.0018),
        mouth_y=p.mouth_y + n(0.003), lip_up=p.lip_up + n(0.0012), lip_low=p.lip_low + n(0.0012),
        chin_y=p.chin_y + n(0.005), chin_protr=p.chin_protr + n(0.002), cheek=p.cheek + n(0.002),
        brow_ridge=p.brow_ridge + n(0.0012), brow_y=p.brow_y + n(0.002),
    )
    if expressions:
        p.jaw_open = float(rng.choice([0.0, rng.uniform(0, 1)], p=[0.6, 0.4]))
        p.smile = float(rng.choice([0.0, rng.uniform(0, 1)], p=[0.6, 0.4]))
        p.brow_raise = float(rng.choice([0.0, rng.uniform(-0.5, 1)], p=[0.6, 0.4]))
    if accessories:
        p.hair = str(rng.choice(["none", "short", "long"], p=[0.12, 0.58, 0.30]))
        p.hair_thick = float(rng.uniform(0.004, 0.012) if p.hair == "short" else rng.uniform(0.010, 0.022))
        p.hairline = float(rng.uniform(-0.12, 0.25))
        p.glasses = bool(rng.random() < glasses_prob)
        p.glasses_style = {"half_w": float(rng.uniform(0.022, 0.028)), "half_h": float(rng.uniform(0.014, 0.021)),
                           "offset": float(rng.uniform(0.012, 0.018)), "round": float(rng.uniform(0.2, 1.0))}
    return p


# ----------------------------------------------------------------------------------------------
# Surface
def directions(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Unit directions from the head centre: theta = azimuth (0 = towards the camera, + = subject's left),
    phi = elevation (+ = up)."""
    ct, st, cp, sp = np.cos(theta), np.sin(theta), np.cos(phi), np.sin(phi)
    return np.stack([st * cp, -sp, -ct * cp], axis=-1)


def _centre(p: FaceParams) -> np.ndarray:
    return np.array([0.0, p.centre_y, p.centre_z]) * p.scale


def base_points(theta: np.ndarray, phi: np.ndarray, p: FaceParams) -> np.ndarray:
    """Skull surface (before the face relief): a superquadric with different front/back, up/down axes."""
    d = directions(theta, phi)
    dx, dy, dz = d[..., 0], d[..., 1], d[..., 2]
    ax = p.head_w * (1.0 - p.jaw_taper * np.clip(dy, 0, 1) ** 1.5)
    ay = np.where(dy < 0, p.head_up, p.head_down)
    az = np.where(dz < 0, p.head_front, p.head_back)
    s = (np.abs(dx / ax) ** SQ_EXP + np.abs(dy / ay) ** SQ_EXP + np.abs(dz / az) ** SQ_EXP)
    r = s ** (-1.0 / SQ_EXP) * p.scale
    return _centre(p) + r[..., None] * d


def _g(x: np.ndarray, y: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return np.exp(-(((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2))


def relief(x: np.ndarray, y: np.ndarray, p: FaceParams) -> np.ndarray:
    """Face height field (metres towards the camera) as a function of frontal skull coordinates."""
    k = p.scale
    x, y = x / k, y / k
    e = p.eye_half
    h = p.brow_ridge * np.exp(-((y - p.brow_y + 0.003) / 0.009) ** 2) * np.exp(-(x / 0.055) ** 4)
    for sx in (-1.0, 1.0):
        h = h - 0.0085 * _g(x, y, sx * e, 0.001, 0.019, 0.013)  # socket
        h = h + 0.0080 * _g(x, y, sx * e, 0.0, 0.0115, 0.0095)  # eyeball
        h = h + p.cheek * _g(x, y, sx * (e + 0.014), 0.030, 0.020, 0.016)  # cheekbone
        h = h + 0.55 * p.nose_protr * _g(x, y, sx * p.nose_half_w * 0.75, p.nose_tip_y + 0.003, 0.0065, 0.006)
    # nose: a ridge growing from the bridge to the tip, then falling to the upper lip
    t = np.clip((y + 0.004) / (p.nose_tip_y + 0.004), 0, None)
    prof = np.where(t <= 1.0, 0.32 + 0.68 * t ** 1.6, np.exp(-((y - p.nose_tip_y) / 0.0065) ** 2))
    width = 0.0065 + 0.0045 * np.clip(t, 0, 1)
    h = h + p.nose_protr * prof * np.exp(-(x / width) ** 2) * (y > -0.02)
    # lips, mentolabial sulcus, chin
    m = p.mouth_y
    h = h + 0.0055 * _g(x, y, 0.0, m - 0.5 * p.lip_up, p.mouth_half * 0.95, p.lip_up * 0.75)
    h = h + 0.0050 * _g(x, y, 0.0, m + 0.5 * p.lip_low, p.mouth_half * 0.85, p.lip_low * 0.75)
    h = h - 0.0030 * _g(x, y, 0.0, m + p.lip_low + 0.008, 0.02, 0.005)
    h = h + p.chin_protr * _g(x, y, 0.0, p.chin_y - 0.012, 0.020, 0.012)
    return h * k


def front_weight(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """1 on the face, 0 at the sides and back: where the relief and the face textures apply."""
    facing = np.cos(theta) * np.cos(phi)
    return _smooth((facing - 0.25) / 0.4)


def _smooth(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0, 1)
    return t * t * (3 - 2 * t)


def hair_mask(theta: np.ndarray, phi: np.ndarray, p: FaceParams) -> np.ndarray:
    """0..1 hair cover as a function of direction: a hairline high on the forehead, above the ears,
    down to the nape (lower still for long hair)."""
    if p.hair == "none":
        return np.zeros(np.shape(theta))
    front = 0.62 + p.hairline
    back = -0.45 if p.hair == "short" else -0.9
    w = ((1 - np.cos(theta)) / 2) ** 1.5
    line = front + (back - front) * w
    # keep the ears uncovered for short hair
    return _smooth((phi - line) / 0.06)


def surface_points(theta: np.ndarray, phi: np.ndarray, p: FaceParams, with_hair: bool = True):
    """Deformed head surface at directions (theta, phi): (points (..., 3), frontal base xy (..., 2))."""
    b = base_points(theta, phi, p)
    x, y = b[..., 0], b[..., 1]
    w = front_weight(theta, phi)
    pts = b.copy()
    pts[..., 2] -= relief(x, y, p) * w
    if with_hair:
        d = directions(theta, phi)
        pts += (p.hair_thick * p.scale * hair_mask(theta, phi, p))[..., None] * d
    pts = _deform(pts, x, y, w, p, phi)
    return pts, np.stack([x, y], -1)


def _deform(pts: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray, p: FaceParams,
            phi: np.ndarray) -> np.ndarray:
    """Expression: jaw rotation about the jaw joints, smile (mouth corners up/out), brow raise."""
    k = p.scale
    xs, ys = x / k, y / k
    out = pts.copy()
    if p.brow_raise:
        g = np.exp(-((ys - p.brow_y) / 0.014) ** 2) * np.exp(-((np.abs(xs) - p.eye_half) / 0.03) ** 2)
        out[..., 1] -= 0.006 * k * p.brow_raise * g * w
    if p.smile:
        g = np.exp(-((np.abs(xs) - p.mouth_half) / 0.014) ** 2 - ((ys - p.mouth_y) / 0.016) ** 2)
        out[..., 0] += np.sign(xs) * 0.0035 * k * p.smile * g * w
        out[..., 1] -= 0.005 * k * p.smile * g * w
        out[..., 2] -= 0.002 * k * p.smile * g * w
    if p.jaw_open:
        a = np.deg2rad(JAW_MAX_DEG) * p.jaw_open * jaw_weight(xs, ys, p, phi) * np.clip(w * 1.5, 0, 1)
        piv = np.array([0.0, 0.05, p.centre_z]) * k  # low pivot: rotation + the condyle glide, lips move down
        ry, rz = out[..., 1] - piv[1], out[..., 2] - piv[2]
        ca, sa = np.cos(a), np.sin(a)
        out[..., 1] = piv[1] + ca * ry - sa * rz
        out[..., 2] = piv[2] + sa * ry + ca * rz
    return out


MOUTH_GAP = 0.0016  # closed-mouth gap between the inner lip lines (unscaled metres): the dark lip line


def mouth_gap(p: FaceParams) -> Tuple[float, float]:
    """Frontal y (unscaled) of the upper and lower inner lip lines of the closed mouth."""
    return p.mouth_y - MOUTH_GAP / 2, p.mouth_y + MOUTH_GAP / 2


def _key(p: FaceParams) -> tuple:
    return tuple(v for v in vars(p).values() if isinstance(v, (int, float, str, bool)))


_CACHE: Dict[tuple, object] = {}


def _cached(name: str, p: FaceParams, fn):
    """Memoise per-head solves (Newton iterations) on the head's parameter values."""
    key = (name,) + _key(p)
    if key not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = fn()
    return _CACHE[key]


def mouth_rows(p: FaceParams) -> Tuple[float, float]:
    """Elevations phi of the inner lip lines: mesh rows lie exactly there, so the mouth opens between
    two rows of vertices and the landmarks on them move exactly as the rendered lips."""
    def solve():
        y0, y1 = mouth_gap(p)
        _, ph = solve_directions(np.array([[0.0, y0], [0.0, y1]]) * p.scale, p)
        return float(ph[0]), float(ph[1])

    return _cached("rows", p, solve)


def jaw_weight(xs: np.ndarray, ys: np.ndarray, p: FaceParams, phi: np.ndarray) -> np.ndarray:
    """0 above the mouth, 1 below it: a step across the inner-lip gap (two mesh rows) between the mouth
    corners (the mouth opens there), widening at the sides into a smooth cheek stretch."""
    ph0, ph1 = mouth_rows(p)
    inner = np.clip((ph0 - phi) / (ph0 - ph1), 0, 1)
    soft = _smooth((ys - (p.mouth_y - 0.02)) / 0.045)
    side = _smooth((np.abs(xs) - p.mouth_half * 0.85) / (0.25 * p.mouth_half))
    return inner * (1 - side) + soft * side


# ----------------------------------------------------------------------------------------------
# Landmarks
def _landmark_xy(p: FaceParams) -> np.ndarray:
    """Frontal (x, y) of the 68 inner-face landmarks and pupils on the undeformed face (unscaled)."""
    e, ew, eh = p.eye_half, p.eye_w / 2, p.eye_h / 2
    xy = np.full((N_LANDMARKS, 2), np.nan)
    # brows: 17-21 subject's right (outer -> inner), 22-26 left (inner -> outer)
    bx = np.array([0.94, 0.72, 0.50, 0.30, 0.10])
    by = np.array([0.006, -0.002, -0.005, -0.004, 0.0])
    brow_x0, brow_x1 = 0.013, e + 0.031
    for i in range(5):
        x = brow_x0 + (brow_x1 - brow_x0) * bx[i]
        xy[17 + i] = (-x, p.brow_y + by[i])
        xy[26 - i] = (x, p.brow_y + by[i])
    # nose bridge 27-30, base 31-35
    for i in range(4):
        xy[27 + i] = (0.0, p.nose_tip_y * i / 3.0)
    nw = p.nose_half_w
    base_y = p.nose_tip_y + 0.0075
    xy[31:36] = [(-0.85 * nw, base_y - 0.002), (-0.45 * nw, base_y + 0.001), (0.0, base_y + 0.002),
                 (0.45 * nw, base_y + 0.001), (0.85 * nw, base_y - 0.002)]
    # eyes
    right = [(-e - ew, -0.0008), (-e - 0.35 * ew, -eh), (-e + 0.35 * ew, -eh * 0.95), (-e + ew, 0.0010),
             (-e + 0.35 * ew, eh * 0.8), (-e - 0.35 * ew, eh * 0.85)]
    xy[36:42] = right
    for i, j in ((36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)):
        xy[j] = (-xy[i][0], xy[i][1])
    # mouth
    m, mh = p.mouth_y, p.mouth_half
    y0, y1 = mouth_gap(p)
    up, low = p.lip_up, p.lip_low
    xy[48] = (-mh, m)
    xy[49] = (-0.62 * mh, m - 0.80 * up)
    xy[50] = (-0.24 * mh, m - 1.00 * up)
    xy[51] = (0.0, m - 0.90 * up)
    xy[57] = (0.0, m + low)
    xy[58] = (-0.28 * mh, m + 0.96 * low)
    xy[59] = (-0.64 * mh, m + 0.70 * low)
    for i, j in ((48, 54), (49, 53), (50, 52), (59, 55), (58, 56)):
        xy[j] = (-xy[i][0], xy[i][1])
    xy[60] = (-0.84 * mh, y0 + 0.0002)
    xy[61], xy[62], xy[63] = (-0.35 * mh, y0), (0.0, y0), (0.35 * mh, y0)
    xy[64] = (0.84 * mh, y0 + 0.0002)
    xy[65], xy[66], xy[67] = (0.35 * mh, y1), (0.0, y1), (-0.35 * mh, y1)
    xy[68], xy[69] = (-e, 0.0), (e, 0.0)
    return xy


def _jaw_angles(p: FaceParams) -> Tuple[np.ndarray, np.ndarray]:
    """Directions (theta, phi) of the 17 jaw-line points: near the ears at eye level down to the chin."""
    beta = np.pi * np.arange(17) / 16.0
    theta = -np.deg2rad(64.0) * np.cos(beta)
    phi_top, phi_chin = np.deg2rad(-4.0), -np.arctan2(p.chin_y + 0.004 - p.centre_y, p.centre_z - 0.012)
    phi = phi_top + (phi_chin - phi_top) * np.sin(beta) ** 0.75
    return theta, phi


def solve_directions(xy: np.ndarray, p: FaceParams, iters: int = 6) -> Tuple[np.ndarray, np.ndarray]:
    """(theta, phi) on the front of the skull whose frontal base point is ``xy`` (scaled metres)."""
    c = _centre(p)
    rough = np.maximum(p.head_front * p.scale, 1e-3)
    theta = np.arcsin(np.clip((xy[:, 0] - c[0]) / rough, -0.95, 0.95))
    phi = np.arcsin(np.clip(-(xy[:, 1] - c[1]) / rough, -0.95, 0.95))
    eps = 1e-5
    for _ in range(iters):
        f = base_points(theta, phi, p)[:, :2] - xy
        ft = (base_points(theta + eps, phi, p)[:, :2] - base_points(theta - eps, phi, p)[:, :2]) / (2 * eps)
        fp = (base_points(theta, phi + eps, p)[:, :2] - base_points(theta, phi - eps, p)[:, :2]) / (2 * eps)
        det = ft[:, 0] * fp[:, 1] - ft[:, 1] * fp[:, 0]
        det = np.where(np.abs(det) < 1e-12, 1e-12, det)
        dt = (fp[:, 1] * f[:, 0] - fp[:, 0] * f[:, 1]) / det
        dp = (-ft[:, 1] * f[:, 0] + ft[:, 0] * f[:, 1]) / det
        theta = np.clip(theta - np.clip(dt, -0.2, 0.2), -1.5, 1.5)
        phi = np.clip(phi - np.clip(dp, -0.2, 0.2), -1.4, 1.4)
    return theta, phi


def solve_theta_on_row(x: np.ndarray, phi: float, p: FaceParams, theta0: np.ndarray) -> np.ndarray:
    """theta on elevation ``phi`` whose frontal base x is ``x`` (1D Newton)."""
    theta = np.asarray(theta0, np.float64).copy()
    ph = np.full_like(theta, phi)
    eps = 1e-5
    for _ in range(5):
        f = base_points(theta, ph, p)[:, 0] - x
        df = (base_points(theta + eps, ph, p)[:, 0] - base_points(theta - eps, ph, p)[:, 0]) / (2 * eps)
        theta = theta - np.clip(f / np.where(np.abs(df) < 1e-9, 1e-9, df), -0.2, 0.2)
    return theta


def landmark_directions(p: FaceParams) -> Tuple[np.ndarray, np.ndarray]:
    """(theta, phi) of all 70 landmarks on this head."""
    neutral = replace(p, jaw_open=0.0, smile=0.0, brow_raise=0.0)  # directions ignore the expression
    t, ph = _cached("landmarks", neutral, lambda: _landmark_directions(neutral))
    return t.copy(), ph.copy()


def _landmark_directions(p: FaceParams) -> Tuple[np.ndarray, np.ndarray]:
    xy = _landmark_xy(p) * p.scale
    theta, phi = np.zeros(N_LANDMARKS), np.zeros(N_LANDMARKS)
    inner = np.arange(17, N_LANDMARKS)
    t, ph = solve_directions(xy[inner], p)
    theta[inner], phi[inner] = t, ph
    # inner lip lines sit on the two mouth rows (see mouth_rows)
    ph0, ph1 = phi[62], phi[66]
    for idx, row in ((np.arange(60, 65), ph0), (np.arange(65, 68), ph1)):
        phi[idx] = row
        theta[idx] = solve_theta_on_row(xy[idx, 0], row, p, theta[idx])
    theta[:17], phi[:17] = _jaw_angles(p)
    return theta, phi


def landmarks_3d(p: FaceParams) -> np.ndarray:
    """The 70 landmarks (70, 3) on the deformed surface, model frame (before origin recentring)."""
    theta, phi = landmark_directions(p)
    pts, _ = surface_points(theta, phi, p, with_hair=False)
    return pts


def origin_offset(p: FaceParams) -> np.ndarray:
    """Point between the pupils of the neutral face; subtracted so the model frame's origin is there."""
    neutral = replace(p, jaw_open=0.0, smile=0.0, brow_raise=0.0)
    theta, phi = landmark_directions(neutral)
    pts, _ = surface_points(theta[68:70], phi[68:70], neutral, with_hair=False)
    return pts.mean(0)


def mean_face(n: int = 1000, seed: int = 0) -> np.ndarray:
    """Mean (70, 3) landmarks, model frame, over the generator's identity and expression distribution."""
    rng = np.random.default_rng(seed)
    acc = np.zeros((N_LANDMARKS, 3))
    for _ in range(n):
        p = sample_face_params(rng, expressions=True, accessories=False)
        acc += landmarks_3d(p) - origin_offset(p)
    return acc / n
