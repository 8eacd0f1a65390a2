"""Real Chips Thermal Face frames as detector training patches (the separate ``detector_chips`` model).

Each frame is read and converted by the runtime's own code (``training.detection_eval.load_dataset``: ``FileSource``,
then ``detector_input``: ``frames.from_array`` -> ``normalise`` -> ``pipeline.detector_frame``), so the network
trains on exactly the [0, 1] image the runtime's CentreFace detector receives for that bgr8 false-colour frame;
boxes are the Chips YOLO labels.
Patches are cut at the runtime's input scale (the detector upsamples a frame to a long side of 320)
with augmentation suited to real frames: scale jitter biased towards small faces (76 % of the real
Lepton faces are under 20 px), translation, horizontal flip, gamma/contrast/brightness, blur, noise.

Data terms: the Chips Thermal Face Dataset is for non-commercial research and education only (see
``shared/data/real_thermal/chips_thermal_face/SOURCE.md``); models trained on it carry that in their
metadata.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from thermal_fld_ros.config import PipelineConfig
from training.detection_eval import BoxedFrame, detector_input, load_dataset

from .evaluate import participant

RealItem = Tuple[str, np.ndarray, np.ndarray]  # (stem, detector input float32 (H, W) in [0, 1], boxes (K, 4))
RUNTIME_LONG_SIDE = 320  # CentreFaceDetector's default input long side (the metadata's long_side)


def load_real(root, cfg: PipelineConfig | None = None, only: Sequence[str] = ()) -> List[RealItem]:
    """The detector input of every frame ``load_dataset`` reads from ``root`` (or just the stems in ``only``)."""
    return detector_items(load_dataset(Path(root), only), cfg)


def detector_items(items: Sequence[BoxedFrame], cfg: PipelineConfig | None = None) -> List[RealItem]:
    """(stem, the runtime detector's input image, boxes) of labelled frames."""
    cfg = cfg or PipelineConfig()
    return [(it.name, detector_input(it.image, it.encoding, cfg), it.boxes.astype(np.float32)) for it in items]


def groups(items: Sequence[RealItem]) -> List[str]:
    """The LOPO groups: participants '1'..'8' and 'group1' (file name before the last '_')."""
    return sorted({participant(n) for n, _, _ in items})


def without(items: Sequence[RealItem], exclude: Sequence[str]) -> List[RealItem]:
    """The frames of every group except those in ``exclude`` (what a LOPO fold trains on)."""
    drop = set(exclude)
    return [it for it in items if participant(it[0]) not in drop]


def split(items: Sequence[RealItem], held_out: str) -> Tuple[List[RealItem], List[RealItem]]:
    """(train, test): every frame of ``held_out`` in test, none in train."""
    return without(items, [held_out]), [it for it in items if participant(it[0]) == held_out]


def real_patch(item: RealItem, rng: np.random.Generator, size=(160, 128)):
    """One augmented (image (H, W) float32 in [0, 1], boxes (K, 4)) patch of ``size`` (width, height).

    Scale is relative to the runtime's: s = (320 / long side) x jitter, jitter log-uniform 0.5..1.6 (more
    often shrinking, so the network also sees faces smaller than the smallest labelled ones). Outside the
    frame is 0, as the runtime pads its input with zeros.
    """
    _, img, boxes = item
    pw, ph = size
    h, w = img.shape
    s = RUNTIME_LONG_SIDE / float(max(h, w)) * float(np.exp(rng.uniform(np.log(0.5), np.log(1.6))))
    nw, nh = max(int(round(w * s)), 8), max(int(round(h * s)), 8)
    im = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    b = boxes.astype(np.float32) * np.float32(s)
    if len(b) and rng.random() < 0.8:  # centre the crop near a face (at a random place in the patch)
        k = int(rng.integers(0, len(b)))
        fx, fy = (b[k, 0] + b[k, 2]) / 2, (b[k, 1] + b[k, 3]) / 2
        x0 = int(fx - rng.uniform(0.15, 0.85) * pw)
        y0 = int(fy - rng.uniform(0.15, 0.85) * ph)
    else:
        x0 = int(rng.integers(min(0, nw - pw), max(1, nw - pw + 1)))
        y0 = int(rng.integers(min(0, nh - ph), max(1, nh - ph + 1)))
    patch = np.zeros((ph, pw), np.float32)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + pw, nw), min(y0 + ph, nh)
    if sx1 > sx0 and sy1 > sy0:
        patch[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = im[sy0:sy1, sx0:sx1]
    b = b - np.array([x0, y0, x0, y0], np.float32)
    if len(b):  # keep faces at least half inside the patch (clipped), at least 3 px wide
        clipped = np.clip(b, [0, 0, 0, 0], [pw, ph, pw, ph])
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        inside = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
        b = clipped[(inside >= 0.5 * np.maximum(area, 1e-6)) & (clipped[:, 2] - clipped[:, 0] >= 3)]
    valid = np.zeros((ph, pw), bool)
    valid[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = sx1 > sx0 and sy1 > sy0
    x = _photometric(patch, valid, rng)
    if rng.random() < 0.5:
        x = x[:, ::-1].copy()
        b = b.copy()
        b[:, [0, 2]] = pw - b[:, [2, 0]]
    return x, b.reshape(-1, 4)


def _photometric(x: np.ndarray, valid: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gamma, contrast/brightness, blur, noise on the frame part of a patch (the zero padding stays 0)."""
    y = x
    if rng.random() < 0.6:
        y = np.power(np.clip(y, 0, 1), np.float32(np.exp(rng.uniform(np.log(0.7), np.log(1.45)))))
    if rng.random() < 0.6:
        c, br = float(rng.uniform(0.75, 1.25)), float(rng.uniform(-0.08, 0.08))
        y = (y - 0.5) * np.float32(c) + np.float32(0.5 + br)
    if rng.random() < 0.35:
        y = cv2.GaussianBlur(y, (0, 0), float(rng.uniform(0.4, 1.3)))
    if rng.random() < 0.5:
        y = y + rng.normal(0, rng.uniform(0.005, 0.04), y.shape).astype(np.float32)
    y = np.clip(y, 0.0, 1.0).astype(np.float32)
    y[~valid] = 0.0
    return y
