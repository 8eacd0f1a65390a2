"""One ICT head: shape (person + expression + scale), pose, exact 70 landmarks with the jaw on the visible
outline, per-vertex temperature and colour.

Thermal values are those of ``training.data.synth.thermal`` (facial thermography ranges, cited in
docs/synthetic_data.md), laid onto the real geometry through the soft regions of ``rig``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

import numpy as np

from training.data.synth import rgb as rgb_app
from training.data.synth import thermal as th_app
from training.data.synth.camera import project
from training.data.synth.ict.rig import JAW_FIXED, R, Rig, to_model_frame
from training.data.synth.ict.shape import POPULATION_SEED, Person, sample_expression, sample_person


@dataclass
class Accessories:
    glasses: bool = False
    mask: bool = False  # surgical / cloth mask over nose and mouth
    hat: bool = False
    hood: bool = False  # hat + the sides and back of the head and the ears
    scarf: bool = False  # the neck
    beard: float = 0.0  # 0 shaven .. 1 full beard
    hair_k: float = 0.3  # hair surface: ambient + hair_k * (skin - ambient)


@dataclass
class IctHead:
    person: Person
    expression: Dict[str, float]
    scale: float
    verts: np.ndarray  # (K, 3) model frame, metres, origin between the pupils
    rot: np.ndarray
    trans: np.ndarray
    ypr: tuple
    acc: Accessories
    thermal: Optional[th_app.ThermalSubject] = None
    rgb: Optional[rgb_app.RgbSubject] = None
    extra: Dict = field(default_factory=dict)

    def camera_vertices(self) -> np.ndarray:
        return self.verts @ self.rot.T + self.trans


def make_ict_head(rig: Rig, rng: np.random.Generator, identity_set: str, expressions: bool, accessories: bool,
                  glasses_prob: float, ypr) -> IctHead:
    p = sample_person(rng, identity_set, rig.identity.shape[0])
    expr = sample_expression(rng, rig.expression_names, expressions)
    scale = float(np.clip(rng.normal(1.0, 0.04), 0.9, 1.1))
    acc = Accessories()
    if accessories:
        acc.glasses = bool(rng.random() < glasses_prob)
        acc.mask = bool(rng.random() < 0.06)
        acc.hat = bool(rng.random() < 0.08)
        acc.hood = bool(rng.random() < 0.03)
        acc.scarf = bool(rng.random() < 0.06)
        acc.beard = float(rng.uniform(0.2, 1.0)) if p.male and rng.random() < 0.35 else 0.0
        acc.hair_k = float(rng.uniform(0.12, 0.4))
    from training.data.synth.camera import ypr_to_matrix

    h = IctHead(p, expr, scale, np.zeros((0, 3)), ypr_to_matrix(*ypr), np.zeros(3), tuple(ypr), acc)
    set_shape(rig, h, expr)
    return h


def set_shape(rig: Rig, head: IctHead, expr: Dict[str, float]) -> None:
    """Vertices of ``head`` (model frame, metres, origin between the pupils) for expression weights ``expr``."""
    names = {n: i for i, n in enumerate(rig.expression_names)}
    ew = np.zeros(len(rig.expression_names), np.float32)
    for k, w in expr.items():
        ew[names[k]] = w
    used = np.nonzero(ew)[0]  # a few expressions at a time: skip the zero rows of the basis
    ident = head.person.identity[:len(rig.identity)]
    flat = rig.neutral.reshape(-1) + ident @ rig.identity + ew[used] @ rig.expression[used]
    v = to_model_frame(flat.reshape(-1, 3).astype(np.float64)) * head.scale
    v -= (v[rig.pupils[0]] + v[rig.pupils[1]]) / 2.0
    head.verts = v
    head.expression = dict(expr)


def landmarks_3d(rig: Rig, head: IctHead, seen=None) -> np.ndarray:
    """(70, 3) camera-frame landmarks: the 68 vertices, the jaw marched to the outline, the two pupils.

    ``seen``: optional function (N, 3) camera points -> (N,) bool (a depth test); only candidates it
    passes can carry a jaw point (the outline is what the camera sees, not a cheek behind the nose).
    """
    vc = head.camera_vertices()
    pts = vc[np.concatenate([rig.landmarks, rig.pupils])].copy()
    # outward direction of each side (subject's right: -x) in the camera; a side whose outward axis points
    # away from the camera shows its outline on the cheek, where the 300-W jaw points are drawn
    for j, row in enumerate(rig.jaw_rows):
        if j in JAW_FIXED or len(row) < 2:
            continue
        s = -1.0 if j < 8 else 1.0
        out_cam = head.rot @ np.array([s, 0.0, 0.0])
        if out_cam[2] <= 0.0:
            continue
        cand = vc[row]
        if seen is not None:
            ok = seen(cand)
            if ok.any():
                cand = cand[ok]
        uv = cand[:, :2] / cand[:, 2:3]
        d = out_cam[:2] / (np.linalg.norm(out_cam[:2]) + 1e-12)
        pts[j] = cand[int(np.argmax(uv @ d))]
    return pts


def person_fields(rig: Rig, head: IctHead):
    """(K,) thermal and (K,) albedo patterns of this person, stable across samples: smooth sums of waves
    over the neutral surface (2-7 cm wavelengths) standing in for vessel and pigment patterns, plus a
    warm superficial temporal artery at each temple."""
    if "fields" in head.extra:
        return head.extra["fields"]
    rng = np.random.default_rng([POPULATION_SEED, head.person.pid, 1])
    v = rig.neutral.astype(np.float64)
    d = rng.normal(size=(8, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    k = 2 * np.pi / rng.uniform(2.0, 7.0, 8)
    waves = np.sin((v @ d.T) * k + rng.uniform(0, 2 * np.pi, 8))  # (K, 8)
    therm = waves @ rng.normal(0, 0.12, 8)
    alb = waves @ rng.normal(0, 0.018, 8)
    lm = v[rig.landmarks]
    for brow in (17, 26):
        temple = lm[brow] + (lm[brow] - lm[27]) * np.array([0.35, 0.0, 0.0]) + np.array([0.0, -0.5, -1.5])
        therm += rng.uniform(0.2, 0.6) * np.exp(-0.5 * ((v - temple) ** 2).sum(1) / 1.2 ** 2)
    face = (rig.regions[:, R["sclera"]] < 0.5) & (rig.regions[:, R["mouth"]] < 0.5)
    head.extra["fields"] = (therm * face, alb * face)
    return head.extra["fields"]


def vertex_temperature(rig: Rig, head: IctHead, ambient: float, breath: float) -> np.ndarray:
    """(K,) apparent-before-emissivity surface temperature (deg C) per vertex."""
    s = head.thermal
    g = rig.regions
    skin = s.skin + head.person.skin_offset
    t = np.full(len(g), skin, np.float64) + person_fields(rig, head)[0]
    t += 0.5 * g[:, R["forehead"]] + 0.45 * g[:, R["periorbital"]] + s.canthus * g[:, R["canthi"]]
    t -= s.nose_cool * g[:, R["nose_tip"]] + s.cheek_cool * g[:, R["cheeks"]]
    t += 0.35 * g[:, R["lips"]] - 0.25 * g[:, R["brows"]]
    t -= 0.6 * g[:, R["back"]]
    jaw = head.expression.get("jawOpen", 0.0)
    t = np.where(g[:, R["mouth"]] > 0.5, skin + 1.2 + 0.3 * min(1.0, jaw * 2), t)
    # breathing: exhaled air (~34-35 C) warms the nostril rims, inhaled room air cools them
    t += (1.2 * breath if breath < 0 else 0.6 * breath) * g[:, R["nostrils"]]
    t = t + g[:, R["ears"]] * ((skin - s.ear_cool) - t)
    t = t + g[:, R["neck"]] * ((skin + 0.2) - t)
    eye = g[:, R["sclera"]] > 0.5
    t = np.where(eye, skin + 0.6, t)  # cornea ~ 34.5-35.5 C
    acc = head.acc
    hair = head.extra.setdefault("hair_cover", _hair_cover(rig, head))
    hair_t = ambient + acc.hair_k * (t - ambient)
    t = t + hair * (hair_t - t)
    if acc.beard > 0:
        b = g[:, R["beard"]] * acc.beard
        t = t + 0.6 * b * ((ambient + 0.55 * (t - ambient)) - t)
    if acc.mask:
        m = g[:, R["lower_face"]]
        mask_t = ambient + 0.55 * (skin - ambient) + 0.8 * max(breath, 0.0)
        t = t + m * (mask_t - t)
    cover = cloth_cover(rig, head)
    if cover is not None:
        t = t + cover * ((ambient + 0.25 * (skin - ambient)) - t)
    return t


def cloth_cover(rig: Rig, head: IctHead):
    """(K,) weight of hat / hood / scarf fabric over the head, or None."""
    acc, g = head.acc, rig.regions
    if not (acc.hat or acc.hood or acc.scarf):
        return None
    c = np.zeros(len(g))
    if acc.hat or acc.hood:
        c = np.maximum(c, np.clip(g[:, R["scalp"]] * 1.5, 0, 1))
    if acc.hood:
        c = np.maximum(c, np.maximum(g[:, R["back"]], g[:, R["ears"]]))
    if acc.scarf:
        c = np.maximum(c, g[:, R["neck"]])
    return c


def _hair_cover(rig: Rig, head: IctHead) -> np.ndarray:
    g = rig.regions
    v = rig.neutral
    p = head.person
    if p.bald:
        return np.zeros(len(v))
    lm = v[rig.landmarks]
    brow_y = float(lm[17:27, 1].mean())
    # the hairline: above the forehead at the front, down to the top of the ears at the sides, to the
    # nape at the back (z: from the brow plane back to behind the ears)
    back_t = np.clip((lm[19, 2] - v[:, 2]) / max(lm[19, 2] - lm[0, 2] + 3.0, 1e-3), 0, 1)
    line = (brow_y + p.hairline_cm) * (1 - back_t) + (lm[0, 1] - 2.0 - 4.0 * back_t ** 2) * back_t
    cover = 1.0 / (1.0 + np.exp(-(v[:, 1] - line) / 0.5))
    cover *= (1 - g[:, R["ears"]]) * (1 - 0.8 * g[:, R["periorbital"]])
    cover *= (g[:, R["sclera"]] < 0.5) & (g[:, R["mouth"]] < 0.5)
    return cover


def vertex_albedo(rig: Rig, head: IctHead) -> np.ndarray:
    """(K, 3) RGB albedo per vertex."""
    s = head.rgb
    g = rig.regions

    def mix(c, w, col):
        return c + np.asarray(w)[:, None] * (np.asarray(col) - c)

    c = np.broadcast_to(s.skin, (len(g), 3)).astype(np.float64) * (1.0 + person_fields(rig, head)[1])[:, None]
    c = mix(c, 0.5 * g[:, R["cheeks"]], s.skin * np.array([1.04, 0.9, 0.9]))
    c = mix(c, g[:, R["lips"]], s.lips)
    c = mix(c, g[:, R["mouth"]], np.array([0.3, 0.08, 0.08]))
    c = mix(c, 0.8 * g[:, R["brows"]], s.hair)
    c = mix(c, g[:, R["sclera"]], np.array([0.88, 0.86, 0.84]))
    c = mix(c, g[:, R["iris"]], s.iris)
    c = mix(c, g[:, R["pupil"]], np.array([0.02, 0.02, 0.02]))
    c = mix(c, head.extra["hair_cover"], s.hair)
    acc = head.acc
    if acc.beard > 0:
        c = mix(c, 0.7 * acc.beard * g[:, R["beard"]], s.hair)
    if acc.mask:
        c = mix(c, g[:, R["lower_face"]], head.extra.get("mask_colour", np.array([0.6, 0.75, 0.85])))
    cover = cloth_cover(rig, head)
    if cover is not None:
        c = mix(c, cover, head.extra.get("hat_colour", np.array([0.2, 0.2, 0.3])))
    return c


def glasses_geometry(rig: Rig, head: IctHead):
    """Two lens discs and their rims in front of the eyes (model frame): vertices, faces, is_frame."""
    v = head.verts
    lm = rig.landmarks
    verts, faces, frame = [], [], []
    n = 16
    for a, b in ((36, 42), (42, 48)):
        eye = v[lm[a:b]]
        c = eye.mean(0)
        c[2] = float(v[lm[a:b]][:, 2].min()) - 0.018  # 1.8 cm in front of the lids (z into the head)
        rx = 0.028 * head.scale
        ry = 0.021 * head.scale
        ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
        ring_in = np.stack([c[0] + rx * np.cos(ang), c[1] + ry * np.sin(ang), np.full(n, c[2])], 1)
        ring_out = np.stack([c[0] + (rx + 0.004) * np.cos(ang), c[1] + (ry + 0.004) * np.sin(ang),
                             np.full(n, c[2])], 1)
        base = sum(len(x) for x in verts)
        verts += [c[None], ring_in, ring_out]
        frame += [0] + [0] * n + [1] * n
        for i in range(n):
            j = (i + 1) % n
            faces.append((base, base + 1 + i, base + 1 + j))
            faces.append((base + 1 + i, base + 1 + n + i, base + 1 + n + j))
            faces.append((base + 1 + i, base + 1 + n + j, base + 1 + j))
    vv = np.concatenate(verts)
    # bridge between the inner rims
    b0 = len(vv)
    r_in, l_in = vv[1 + n], vv[(1 + 2 * n) + 1 + n + n // 2]  # the nasal ends of the two rims
    bridge = np.array([r_in, l_in, l_in + [0, 0.004, 0], r_in + [0, 0.004, 0]])
    vv = np.concatenate([vv, bridge])
    frame += [1, 1, 1, 1]
    faces += [(b0, b0 + 1, b0 + 2), (b0, b0 + 2, b0 + 3)]
    return vv, np.asarray(faces, np.int32), np.asarray(frame, np.float32)


def jaw_outline_check(rig: Rig, head: IctHead, k: np.ndarray) -> np.ndarray:
    """(70, 2) pixel landmarks (helper for tests and previews)."""
    return project(landmarks_3d(rig, head), k)
