"""The ICT model prepared for rendering: the parts a camera sees, landmark vertices, jaw-marching rows,
pupil vertices and soft facial-region weights, all computed once per process from the neutral mesh.

Frames: the ICT frame (cm, x subject's left, y up, z out of the face) is turned into the runtime's model
frame (``thermal_fld_ros.schemes``: metres, x subject's left, y down, z into the head, origin between the
pupils) by diag(1, -1, -1) / 100 and a shift.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List

import numpy as np
from matplotlib.path import Path as PolyPath

from training.data.synth.ict.model import FaceModelError, IctModel, load_face_model

# README "Facial Landmarks": Multi-PIE 68 (= iBUG 300-W) vertex indices, 0-based
IBUG68_VERTICES = (
    1225, 1888, 1052, 367, 1719, 1722, 2199, 1447, 966, 3661, 4390, 3927, 3924, 2608, 3272, 4088, 3443,
    268, 493, 1914, 2044, 1401, 3615, 4240, 4114, 2734, 2509, 978, 4527, 4942, 4857, 1140, 2075, 1147, 4269,
    3360, 1507, 1542, 1537, 1528, 1518, 1511, 3742, 3751, 3756, 3721, 3725, 3732, 5708, 5695, 2081, 0, 4275,
    6200, 6213, 6346, 6461, 5518, 5957, 5841, 5702, 5711, 5533, 6216, 6207, 6470, 5517, 5966)
# README vertex ranges (inclusive ends there; half-open here)
FACE = (0, 9409)
HEAD_NECK = (9409, 11248)
MOUTH_SOCKET = (11248, 13294)
EYEBALL_L = (21451, 23021)
EYEBALL_R = (23021, 24591)
IRIS_L = (22221, 23021)
IRIS_R = (23791, 24591)
RENDERED = (FACE, HEAD_NECK, MOUTH_SOCKET, EYEBALL_L, EYEBALL_R)  # no eyelashes, lacrimal or blend meshes
FULL_VERTEX_COUNT = 26719
IDENTITY_MODES = 60  # modes 60..99 move vertices by < 0.1 mm RMS each: not worth their time
JAW_FIXED = (8,)  # the chin stays on its vertex; the other 16 jaw points march to the outline

# region channels of ``Rig.regions``
REGIONS = ("forehead", "periorbital", "canthi", "nose_tip", "nostrils", "cheeks", "lips", "mouth", "ears",
           "neck", "scalp", "brows", "beard", "sclera", "iris", "pupil", "lower_face", "back")
R = {n: i for i, n in enumerate(REGIONS)}


@dataclass
class Rig:
    keep: np.ndarray  # (K,) indices of the full mesh that are rendered
    faces: np.ndarray  # (F, 3) triangles into the kept vertices
    neutral: np.ndarray  # (K, 3) float32, ICT frame
    identity: np.ndarray  # (I, K*3) float32
    expression: np.ndarray  # (E, K*3) float32
    expression_names: tuple
    landmarks: np.ndarray  # (68,) kept-vertex indices
    jaw_rows: List[np.ndarray]  # 17 candidate sets (kept-vertex indices) for the jaw points
    pupils: np.ndarray  # (2,) kept-vertex indices: subject's right, left (scheme points 68, 69)
    regions: np.ndarray  # (K, len(REGIONS)) float32 soft weights in [0, 1]
    is_eye: np.ndarray  # (K,) bool, eyeball vertices
    source: str


def _gauss(p: np.ndarray, c: np.ndarray, sigma) -> np.ndarray:
    d = (p - c) / np.asarray(sigma, np.float64)
    return np.exp(-0.5 * (d ** 2).sum(1))


def _smooth_step(x: np.ndarray, edge: float, width: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x - edge) / width))


def _regions(v: np.ndarray, lm: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Soft region weights from the neutral geometry (cm) and its 68 landmarks."""
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    out = np.zeros((len(v), len(REGIONS)), np.float64)
    skin = (part == 0) | (part == 1)
    front = _smooth_step(z, lm[0, 2] - 1.0, 0.8)  # in front of the jaw-corner plane
    brow_y = lm[17:27, 1].mean()
    eye_r, eye_l = lm[36:42].mean(0), lm[42:48].mean(0)
    out[:, R["forehead"]] = _smooth_step(y, brow_y + 0.6, 0.4) * front * skin
    out[:, R["periorbital"]] = np.maximum(_gauss(v, eye_r, (1.6, 1.1, 1.5)), _gauss(v, eye_l, (1.6, 1.1, 1.5))) * skin
    out[:, R["canthi"]] = np.maximum(_gauss(v, lm[39], 0.45), _gauss(v, lm[42], 0.45)) * skin
    out[:, R["nose_tip"]] = _gauss(v, lm[30] + np.array([0.0, 0.3, 0.0]), (0.9, 1.1, 1.2)) * skin
    nost = (lm[31] + lm[35]) / 2.0 + np.array([0.0, -0.2, -0.3])
    out[:, R["nostrils"]] = _gauss(v, nost, (1.1, 0.45, 0.7)) * skin
    cheek_r = (lm[2] * 0.45 + lm[31] * 0.55) + np.array([0.0, 0.8, 0.0])
    cheek_l = (lm[14] * 0.45 + lm[35] * 0.55) + np.array([0.0, 0.8, 0.0])
    out[:, R["cheeks"]] = np.maximum(_gauss(v, cheek_r, 1.6), _gauss(v, cheek_l, 1.6)) * skin
    lips = PolyPath(lm[48:60, :2]).contains_points(v[:, :2], radius=0.15)
    out[:, R["lips"]] = lips & (z > lm[48:60, 2].min() - 1.0) & skin
    out[:, R["mouth"]] = part == 2
    ear_y = (lm[0, 1] + lm[17, 1]) / 2.0
    side = np.abs(x)
    out[:, R["ears"]] = (_smooth_step(side, np.abs(lm[0, 0]) + 0.6, 0.3) * _gauss(v[:, 1:2], np.array([ear_y - 0.5]), 2.6)
                         * (z < lm[0, 2] + 1.0) * (z > lm[0, 2] - 4.0)) * skin
    chin_y = lm[8, 1]
    out[:, R["neck"]] = _smooth_step(-y, -(chin_y - 1.0), 0.6) * (1 - front * (y > chin_y - 3)) * skin
    out[:, R["neck"]] *= (part == 1) | (y < chin_y - 0.5)
    out[:, R["scalp"]] = (_smooth_step(y, brow_y + 5.5, 0.6) * skin).clip(0, 1)  # hairline shifts per person
    back = _smooth_step(-z, -(lm[0, 2] - 2.5), 0.8) * _smooth_step(y, chin_y + 2.5, 1.0) * skin
    out[:, R["back"]] = back * (1 - out[:, R["ears"]])
    brows = np.zeros(len(v))
    for a, b in ((17, 22), (22, 27)):
        pts = lm[a:b]
        for p in pts:
            brows = np.maximum(brows, _gauss(v, p, (0.55, 0.35, 0.8)))
    out[:, R["brows"]] = brows * skin
    below_nose = _smooth_step(-y, -(lm[33, 1] - 0.3), 0.3)
    jaw_band = _smooth_step(y, chin_y - 2.0, 0.5)
    out[:, R["beard"]] = below_nose * jaw_band * front * skin * (1 - out[:, R["lips"]])
    out[:, R["lower_face"]] = _smooth_step(-y, -(lm[28, 1]), 0.4) * jaw_band * front * skin
    out[:, R["sclera"]] = part == 3
    return out


def _jaw_rows(v: np.ndarray, lm_idx: np.ndarray, face_n: int) -> List[np.ndarray]:
    """For each jaw point, the face vertices from it inwards at its height: the outline candidates."""
    rows = []
    f = v[:face_n]
    for j in range(17):
        i = lm_idx[j]
        p = v[i]
        if j in JAW_FIXED:
            rows.append(np.array([i]))
            continue
        s = np.sign(p[0]) if p[0] != 0 else 1.0
        band = 0.25 + 0.25 * (abs(j - 8) <= 3)
        sel = ((np.abs(f[:, 1] - p[1]) < band) & (f[:, 0] * s <= abs(p[0]) + 0.05) & (f[:, 0] * s >= 0.12 * abs(p[0]))
               & (f[:, 2] >= p[2] - 0.3))
        cand = np.nonzero(sel)[0]
        rows.append(np.unique(np.concatenate([[i], cand])))
    return rows


_RIGS: Dict[str, Rig] = {}


def build_rig(model: IctModel) -> Rig:
    n = len(model.neutral)
    if n != FULL_VERTEX_COUNT:
        raise FaceModelError(f"face model: {model.source} has {n} vertices, the ICT Face Model has "
                             f"{FULL_VERTEX_COUNT}; pass the unmodified FaceXModel/ folder")
    part_full = np.full(n, -1, np.int8)
    for p, (a, b) in enumerate(RENDERED):
        part_full[a:b] = min(p, 3)  # 0 face, 1 head/neck, 2 mouth socket, 3 eyeballs
    keep = np.nonzero(part_full >= 0)[0]
    remap = np.full(n, -1, np.int64)
    remap[keep] = np.arange(len(keep))
    fm = remap[model.faces]
    faces = fm[(fm >= 0).all(1)].astype(np.int32)
    v = model.neutral[keep].astype(np.float64)
    part = part_full[keep]
    lm = remap[np.asarray(IBUG68_VERTICES)]
    regions = _regions(v, v[lm], part)
    pupils = []
    for a, b in (IRIS_R, IRIS_L):  # subject's right first (scheme point 68)
        idx = np.arange(a, b)
        pupils.append(remap[idx[np.argmax(model.neutral[idx, 2])]])
    pupils = np.asarray(pupils)
    eye = part == 3
    for pi, (a, b) in zip(pupils, (IRIS_R, IRIS_L)):
        ir = (keep >= a) & (keep < b)
        d = np.linalg.norm(v - v[pi], axis=1)
        regions[:, R["iris"]] = np.maximum(regions[:, R["iris"]], ir & (d < 0.62))
        regions[:, R["pupil"]] = np.maximum(regions[:, R["pupil"]], ir & (d < 0.22))
    return Rig(keep, faces, v.astype(np.float32),
               model.identity[:IDENTITY_MODES, keep].astype(np.float32).reshape(
                   min(IDENTITY_MODES, len(model.identity)), -1),
               model.expression[:, keep].astype(np.float32).reshape(len(model.expression), -1),
               model.expression_names, lm, _jaw_rows(v, lm, FACE[1]), pupils, regions.astype(np.float32), eye,
               model.source)


def load_rig(path) -> Rig:
    key = str(path)
    if key not in _RIGS:
        _RIGS[key] = build_rig(load_face_model(path))
    return _RIGS[key]


def to_model_frame(v_ict: np.ndarray) -> np.ndarray:
    """ICT cm (x left, y up, z out) -> runtime metres (x left, y down, z into the head)."""
    return v_ict * np.array([0.01, -0.01, -0.01])


def mean_face(path) -> np.ndarray:
    """(70, 3) landmarks of the model's mean shape (neutral mesh, no expression) in the runtime's model frame
    (metres, origin between the pupils): the 68 vertices (frontal jaw) and the two pupils."""
    rig = load_rig(path)
    v = to_model_frame(rig.neutral.astype(np.float64))
    pts = v[np.concatenate([rig.landmarks, rig.pupils])]
    return pts - (pts[68] + pts[69]) / 2.0
