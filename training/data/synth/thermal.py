"""Radiometric appearance: apparent surface temperature (deg C) of face, hair, glasses and background.

Values follow the ranges reported in facial thermography (reviewed e.g. by Ioannou, Gallese and Merla,
Psychophysiology 51(10), 2014; the generator is not fitted to any one study): inner canthi warmest (35.5-36.8), forehead and
eye region 34.5-35.5, cheeks 32.5-34, nose tip 29.5-33.5 (and colder in a cold room), ears 29-33,
mouth interior about 35.5; nostrils cool on inhale and warm on exhale. Hair insulates (its surface lies
between skin and room temperature) and glass is opaque in the 8-14 um band, so lenses show their own
temperature, close to ambient. Skin emissivity 0.98, falling at grazing angles.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from training.data.synth.face_model import PART_EAR, PART_NECK, FaceParams
from training.data.synth.textures import BROWS, CANTHI, LIPS, MOUTH, NOSTRILS, SCLERA


@dataclass
class ThermalSubject:
    """Per-head physiology draw."""

    skin: float  # core facial skin temperature (deg C)
    canthus: float  # extra at the inner canthi
    nose_cool: float
    cheek_cool: float
    ear_cool: float
    hair_k: float  # hair surface: ambient + hair_k * (skin - ambient)
    breath: float  # -1 inhale .. +1 exhale
    glasses_k: float


def sample_subject(rng: np.random.Generator, ambient: float) -> ThermalSubject:
    cold = max(0.0, 24.0 - ambient)
    return ThermalSubject(
        skin=float(34.4 + 0.07 * (ambient - 23.0) + rng.normal(0, 0.35)),
        canthus=float(rng.uniform(1.6, 2.3)),
        nose_cool=float(rng.uniform(0.8, 2.8) + 0.18 * cold),
        cheek_cool=float(rng.uniform(0.4, 1.4) + 0.05 * cold),
        ear_cool=float(rng.uniform(1.5, 3.0) + 0.12 * cold),
        hair_k=float(rng.uniform(0.15, 0.4)),
        breath=float(rng.uniform(-1, 1)),
        glasses_k=float(rng.uniform(0.05, 0.25)),
    )


def face_temperature(xy: np.ndarray, masks: np.ndarray, front: np.ndarray, hair: np.ndarray,
                     part: np.ndarray, cos_view: np.ndarray, p: FaceParams, s: ThermalSubject,
                     ambient: float) -> np.ndarray:
    """Temperature of head pixels from frontal coordinates, region masks and per-pixel attributes."""
    k = p.scale
    x, y = xy[..., 0] / k, xy[..., 1] / k
    e = p.eye_half
    t = np.full(x.shape, s.skin, np.float32)
    face = np.zeros(x.shape, np.float32)
    face += 0.5 * (1.0 / (1.0 + np.exp((y - p.brow_y + 0.01) / 0.006)))  # forehead
    face += 0.45 * np.exp(-((np.abs(x) - e) ** 2 + y ** 2) / (2 * 0.014 ** 2))  # periorbital
    face += s.canthus * masks[..., CANTHI] + 0.6 * masks[..., SCLERA]
    face -= s.nose_cool * np.exp(-(x ** 2 / (2 * 0.010 ** 2) + (y - p.nose_tip_y) ** 2 / (2 * 0.014 ** 2)))
    face -= s.cheek_cool * np.exp(-((np.abs(x) - 0.048) ** 2 + (y - 0.045) ** 2) / (2 * 0.018 ** 2))
    face += 0.35 * masks[..., LIPS] + 1.4 * masks[..., MOUTH] - 0.25 * masks[..., BROWS]
    breath = np.exp(-(x ** 2 / (2 * 0.012 ** 2) + (y - p.nose_tip_y - 0.008) ** 2 / (2 * 0.006 ** 2)))
    face += (1.2 * s.breath if s.breath < 0 else 0.5 * s.breath) * (breath + masks[..., NOSTRILS])
    t += face * front - 0.6 * (1 - front)  # sides of the head: a little cooler than the face
    t = np.where(part == PART_EAR, s.skin - s.ear_cool, t)
    t = np.where(part == PART_NECK, s.skin + 0.2, t)
    hair_t = ambient + s.hair_k * (t - ambient)
    t = t + hair * (hair_t - t)
    eps = 0.98 * np.clip(0.78 + 0.22 * np.clip(cos_view, 0, 1) / 0.5, 0, 1)
    return (eps * t + (1 - eps) * ambient).astype(np.float32)


def glasses_temperature(s: ThermalSubject, ambient: float) -> float:
    return ambient + s.glasses_k * (s.skin - ambient)


def background(rng: np.random.Generator, width: int, height: int, ambient: float) -> np.ndarray:
    """Room: ambient with smooth gradients, a few warm or cool objects, sometimes a hot one."""
    gy, gx = np.mgrid[0:height, 0:width].astype(np.float32)
    gx /= max(width, 1)
    gy /= max(height, 1)
    bg = ambient + rng.normal(0, 0.8) * (gx - 0.5) + rng.normal(0, 0.8) * (gy - 0.5)
    bg = bg.astype(np.float32)
    for _ in range(int(rng.integers(0, 5))):
        x0, y0 = rng.uniform(-0.2, 1.0) * width, rng.uniform(-0.2, 1.0) * height
        w, h = rng.uniform(0.05, 0.6) * width, rng.uniform(0.05, 0.6) * height
        hot = rng.random() < 0.25
        dt = rng.uniform(6.0, 25.0) if hot else rng.normal(0, 1.5)
        layer = np.zeros((height, width), np.float32)
        cv2.rectangle(layer, (int(x0), int(y0)), (int(x0 + w), int(y0 + h)), 1.0, -1)
        bg += dt * cv2.GaussianBlur(layer, (0, 0), max(1.0, 0.01 * width))
    return bg


def clothing_temperature(rng: np.random.Generator, skin: float, ambient: float) -> float:
    return float(ambient + rng.uniform(0.3, 0.6) * (skin - ambient))
