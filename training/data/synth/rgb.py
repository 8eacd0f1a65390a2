"""RGB appearance: albedo from skin tone and region masks, Lambert + specular shading under one coloured
light plus ambient, and cluttered backgrounds. Linear-ish sRGB in 0..1."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from training.data.synth.face_model import PART_EAR
from training.data.synth.textures import BROWS, IRIS, LIPS, MOUTH, NOSTRILS, PUPIL, SCLERA

SKIN_TONES = np.array([[0.98, 0.85, 0.75], [0.93, 0.76, 0.64], [0.87, 0.66, 0.52], [0.76, 0.53, 0.39],
                       [0.62, 0.41, 0.28], [0.45, 0.29, 0.20], [0.32, 0.21, 0.15]])
HAIR_COLOURS = np.array([[0.05, 0.04, 0.03], [0.18, 0.11, 0.06], [0.40, 0.27, 0.14], [0.75, 0.62, 0.40],
                         [0.55, 0.25, 0.10], [0.65, 0.65, 0.65]])
IRIS_COLOURS = np.array([[0.30, 0.17, 0.08], [0.20, 0.35, 0.55], [0.30, 0.40, 0.20], [0.45, 0.33, 0.18]])


@dataclass
class RgbSubject:
    skin: np.ndarray
    lips: np.ndarray
    hair: np.ndarray
    iris: np.ndarray
    glasses_frame: np.ndarray


def sample_subject(rng: np.random.Generator) -> RgbSubject:
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.92, 1.05, 3)
    lips = skin * np.array([0.85, 0.55, 0.55]) * rng.uniform(0.85, 1.05)
    hair = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] * rng.uniform(0.8, 1.2, 3)
    return RgbSubject(np.clip(skin, 0, 1), np.clip(lips, 0, 1), np.clip(hair, 0, 1),
                      IRIS_COLOURS[rng.integers(len(IRIS_COLOURS))], rng.uniform(0.0, 0.5, 3))


def albedo(masks: np.ndarray, hair: np.ndarray, part: np.ndarray, s: RgbSubject) -> np.ndarray:
    """(..., 3) surface colour before lighting."""
    def m(ch: int) -> np.ndarray:
        return masks[..., ch:ch + 1]

    c = np.broadcast_to(s.skin, masks.shape[:-1] + (3,)).astype(np.float32)
    c = np.where((part == PART_EAR)[..., None], c * np.array([1.0, 0.92, 0.9]), c)
    c = c + m(LIPS) * (s.lips - c)
    c = c + m(MOUTH) * (np.array([0.25, 0.06, 0.07]) - c)
    c = c + m(SCLERA) * (np.array([0.88, 0.86, 0.84]) - c)
    c = c + m(IRIS) * (s.iris - c)
    c = c + m(PUPIL) * (np.array([0.02, 0.02, 0.02]) - c)
    c = c + 0.8 * m(BROWS) * (s.hair - c)
    c = c + 0.7 * m(NOSTRILS) * (s.skin * 0.25 - c)
    c = c + hair[..., None] * (s.hair - c)
    return c


@dataclass
class Light:
    direction: np.ndarray  # unit vector towards the light, camera frame
    colour: np.ndarray
    ambient: float


def sample_light(rng: np.random.Generator) -> Light:
    d = np.array([rng.uniform(-1, 1), rng.uniform(-1, 0.3), -rng.uniform(0.3, 1.0)])
    cct = rng.uniform(-1, 1)  # warm .. cool
    colour = np.array([1.0 + 0.15 * cct * -1, 1.0, 1.0 + 0.15 * cct]) * rng.uniform(0.8, 1.15)
    return Light(d / np.linalg.norm(d), colour, float(rng.uniform(0.25, 0.5)))


def shade(alb: np.ndarray, normals: np.ndarray, view: np.ndarray, light: Light, spec: float = 0.12) -> np.ndarray:
    """Lambert + Blinn-Phong; ``normals`` and ``view`` (towards the camera) are unit (..., 3)."""
    ndl = np.clip((normals * light.direction).sum(-1, keepdims=True), 0, 1)
    half = light.direction + view
    half /= np.linalg.norm(half, axis=-1, keepdims=True) + 1e-9
    sp = np.clip((normals * half).sum(-1, keepdims=True), 0, 1) ** 24 * spec
    return alb * (light.ambient + (1 - light.ambient) * ndl) * light.colour + sp * light.colour


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A wall with a gradient and some furniture-like blocks, slightly blurred."""
    base = rng.uniform(0.15, 0.85, 3)
    gy, gx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = base + (rng.normal(0, 0.15, 3) * (gx / max(width, 1))[..., None]
                  + rng.normal(0, 0.15, 3) * (gy / max(height, 1))[..., None])
    img = img.astype(np.float32)
    for _ in range(int(rng.integers(1, 6))):
        x0, y0 = rng.uniform(-0.2, 1.0) * width, rng.uniform(-0.2, 1.0) * height
        w, h = rng.uniform(0.05, 0.6) * width, rng.uniform(0.05, 0.6) * height
        cv2.rectangle(img, (int(x0), int(y0)), (int(x0 + w), int(y0 + h)),
                      tuple(float(v) for v in rng.uniform(0, 1, 3)), -1)
    img = cv2.GaussianBlur(img, (0, 0), max(0.6, 0.004 * width))
    return np.clip(img + rng.normal(0, 0.01, img.shape).astype(np.float32), 0, 1)
