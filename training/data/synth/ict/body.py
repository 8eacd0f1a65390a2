"""A low-polygon body under an ICT head: neck, torso, shoulders, upper arms, forearms and hands (ellipsoids),
in a body frame whose origin is the neck joint (x subject's left, y down, z back, metres).

Skin that is not a face (neck, bare forearms, hands) is warm, so that a detector learns faces, not warm
blobs; clothing sits between skin and room temperature. Hands and forearms run 1-4 K below facial skin,
more so in a cold room.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from training.data.synth.camera import ypr_to_matrix

NECK_PIVOT = np.array([0.0, 0.09, 0.075])  # the head turns about this point of its model frame (C1/C2)


def ellipsoid(centre, radii, rot=None, n_lat: int = 7, n_lon: int = 12) -> Tuple[np.ndarray, np.ndarray]:
    lat = np.linspace(0, np.pi, n_lat + 1)
    lon = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    unit = np.stack([np.sin(la) * np.cos(lo), np.cos(la), np.sin(la) * np.sin(lo)], -1).reshape(-1, 3)
    v = unit * np.asarray(radii)
    if rot is not None:
        v = v @ np.asarray(rot).T
    v = v + np.asarray(centre)
    f = []
    for i in range(n_lat):
        for j in range(n_lon):
            a, b = i * n_lon + j, i * n_lon + (j + 1) % n_lon
            c, d = a + n_lon, b + n_lon
            f += [(a, c, b), (b, c, d)]
    return v, np.asarray(f, np.int32)


def _segment(a, b, r) -> Tuple[np.ndarray, np.ndarray]:
    """An ellipsoid from point a to point b (a limb) of radius r."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = b - a
    length = float(np.linalg.norm(d)) + 1e-9
    y = d / length
    x = np.cross(y, [0.0, 0.0, 1.0])
    if np.linalg.norm(x) < 1e-6:
        x = np.cross(y, [1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    z = np.cross(x, y)
    rot = np.stack([x, y, z], 1)
    return ellipsoid((a + b) / 2, (r, length / 2 + r * 0.6, r), rot, 5, 8)


@dataclass
class BodyStyle:
    width: float  # shoulder half-width (m)
    cloth_k: float  # clothing surface: ambient + cloth_k * (skin - ambient)
    cloth_rgb: np.ndarray
    short_sleeves: bool
    hand_cool: float  # K below facial skin
    arm_pose: str  # down | desk | phone | face


def sample_style(rng: np.random.Generator) -> BodyStyle:
    return BodyStyle(float(rng.uniform(0.15, 0.2)), float(rng.uniform(0.3, 0.6)), rng.uniform(0.05, 0.9, 3),
                     bool(rng.random() < 0.35), float(rng.uniform(1.0, 4.0)),
                     str(rng.choice(["down", "desk", "phone", "face"], p=[0.47, 0.3, 0.17, 0.06])))


def _arm(side: float, style: BodyStyle, swing: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    sh = np.array([side * style.width, 0.17, 0.0])
    if style.arm_pose == "down":
        el = sh + [side * 0.03, 0.28, 0.02 + swing]
        wr = el + [side * 0.01, 0.25, -0.02 + swing]
    elif style.arm_pose == "desk":
        el = sh + [side * 0.04, 0.27, 0.02]
        wr = el + [-side * 0.08, 0.02, -0.26]
    elif style.arm_pose == "phone" and side < 0:  # one hand holding something at chest height
        el = sh + [side * 0.02, 0.27, 0.0]
        wr = el + [side * -0.10, -0.18, -0.18]
    elif style.arm_pose == "face" and side < 0:  # hand at the chin / cheek (occludes part of the face)
        el = sh + [side * 0.02, 0.24, -0.10]
        wr = np.array([side * 0.085, 0.03 + swing * 0.2, -0.07])  # under the jaw, at the side
    else:
        el = sh + [side * 0.03, 0.28, 0.02]
        wr = el + [side * 0.01, 0.25, -0.02]
    return sh, el, wr


def body_mesh(style: BodyStyle, skin: float, ambient: float, swing: float = 0.0):
    """Vertices (body frame), faces, per-vertex temperature and albedo of the body, and its skin colour mask."""
    parts: List[Tuple[np.ndarray, np.ndarray, str]] = []
    parts.append(ellipsoid((0, 0.04, 0.0), (0.055, 0.12, 0.055)) + ("neck",))
    parts.append(ellipsoid((0, 0.42, 0.01), (style.width + 0.01, 0.30, 0.11)) + ("cloth",))
    for side in (-1.0, 1.0):
        sh, el, wr = _arm(side, style, swing * side)
        parts.append(ellipsoid(sh + [0, 0.02, 0], (0.07, 0.065, 0.07)) + ("cloth",))
        parts.append(_segment(sh, el, 0.045) + ("cloth",))
        parts.append(_segment(el, wr, 0.037) + ("skin" if style.short_sleeves else "cloth",))
        hand_dir = (wr - el) / (np.linalg.norm(wr - el) + 1e-9)
        parts.append(_segment(wr, wr + hand_dir * 0.11, 0.03) + ("hand",))
    verts, faces, temp, alb = [], [], [], []
    n = 0
    cloth_t = ambient + style.cloth_k * (skin - ambient)
    for v, f, kind in parts:
        verts.append(v)
        faces.append(f + n)
        n += len(v)
        t = {"neck": skin - 0.3, "cloth": cloth_t, "skin": skin - style.hand_cool + 0.5,
             "hand": skin - style.hand_cool}[kind]
        temp.append(np.full(len(v), t))
        alb.append(np.tile(style.cloth_rgb if kind == "cloth" else np.full(3, -1.0), (len(v), 1)))
    return np.concatenate(verts), np.concatenate(faces), np.concatenate(temp), np.concatenate(alb)


def body_rotation(head_ypr, rng: np.random.Generator) -> np.ndarray:
    yaw = 0.55 * head_ypr[0] + float(rng.normal(0, 12))
    return ypr_to_matrix(float(np.clip(yaw, -90, 90)), float(rng.normal(0, 5)), float(rng.normal(0, 3)))
