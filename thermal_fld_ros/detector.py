"""Face localisation in a full thermal frame.

Default: a classical warm-blob detector. Faces are the warmest large, compact, roughly elliptical regions
(exposed skin at 30-36 °C; hair, clothes and most backgrounds are colder), so the normalised frame is
thresholded at several levels, each connected component is scored by shape (fill of its fitted ellipse,
aspect ratio), size and contrast to its surroundings, and overlapping candidates across levels are
merged by NMS. Its boxes follow ``crop.landmarks_box`` (jaw/brows/chin), calibrated on real Lepton
frames with face boxes (``bench/eval_detector.py``). A learned ONNX detector can replace it through the
:class:`FaceDetector` protocol and :func:`make_detector`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Protocol

import cv2
import numpy as np


@dataclass
class Detection:
    box: np.ndarray  # [x0, y0, x1, y1] image pixels, landmarks_box convention
    score: float  # [0, 1]


class FaceDetector(Protocol):
    def detect(self, frame01: np.ndarray, max_faces: int) -> List[Detection]:
        """Faces in a normalised float32 (H, W) frame in [0, 1], best first."""


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def nms(dets: List[Detection], iou: float) -> List[Detection]:
    out: List[Detection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        if all(box_iou(d.box, o.box) < iou for o in out):
            out.append(d)
    return out


@dataclass
class BlobDetectorParams:
    work_size: int = 160  # longest side of the working image (faces >= ~12 px survive)
    levels: tuple = (0.45, 0.55, 0.65, 0.72, 0.8, 0.87, 0.93)  # thresholds on the [0, 1] frame
    min_face_px: int = 12
    min_score: float = 0.35
    # Calibration: landmark box = blob box scaled about its centre, shifted by a fraction of its height.
    box_scale_w: float = 1.0
    box_scale_h: float = 1.0
    box_shift_y: float = 0.0
    nms_iou: float = 0.3


class ThermalBlobDetector:
    """Warm-blob face detector (see module docstring)."""

    def __init__(self, params: BlobDetectorParams | None = None):
        self.p = params or BlobDetectorParams()

    def detect(self, frame01: np.ndarray, max_faces: int = 3) -> List[Detection]:
        p = self.p
        h, w = frame01.shape[:2]
        s = min(1.0, p.work_size / float(max(h, w)))
        img = frame01 if s == 1.0 else cv2.resize(frame01, (max(1, round(w * s)), max(1, round(h * s))),
                                                  interpolation=cv2.INTER_AREA)
        img = cv2.GaussianBlur(img, (3, 3), 0)
        min_side = max(3.0, p.min_face_px * s)
        cands: List[Detection] = []
        for level in p.levels:
            mask = (img >= level).astype(np.uint8)
            n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            for i in range(1, n):
                x, y, bw, bh, area = stats[i]
                if bw < min_side or bh < min_side or area < 0.5 * min_side * min_side:
                    continue
                det = self._score(img, labels, i, x, y, bw, bh, area, level)
                if det is not None and det.score >= p.min_score:
                    cands.append(det)
        dets = nms(cands, p.nms_iou)[:max_faces]
        for d in dets:
            d.box = d.box / s
        return dets

    def _score(self, img, labels, i, x, y, bw, bh, area, level):
        p = self.p
        ih, iw = img.shape
        aspect = bh / float(bw)
        fill = area / float(bw * bh)  # ellipse fills pi/4 of its box
        ellipse_fit = 1.0 - min(1.0, abs(fill - np.pi / 4) / 0.35)
        aspect_fit = float(np.exp(-0.5 * ((np.log(aspect) - np.log(1.25)) / 0.3) ** 2))
        # Contrast: mean inside vs a ring around the box.
        pad = max(2, int(0.3 * max(bw, bh)))
        x0, y0, x1, y1 = max(0, x - pad), max(0, y - pad), min(iw, x + bw + pad), min(ih, y + bh + pad)
        roi = img[y0:y1, x0:x1]
        inside = labels[y0:y1, x0:x1] == i
        outside = ~inside
        if outside.sum() < 4:
            contrast = 0.0
        else:
            contrast = float(roi[inside].mean() - roi[outside].mean())
        contrast_fit = float(np.clip(contrast / 0.3, 0.0, 1.0))
        frame_frac = (bw * bh) / float(iw * ih)
        size_fit = 1.0 if frame_frac < 0.5 else max(0.0, 1.0 - (frame_frac - 0.5) / 0.4)
        score = (0.35 * ellipse_fit + 0.35 * aspect_fit + 0.3 * contrast_fit) * size_fit
        cx, cy = x + bw / 2.0, y + bh / 2.0
        hw, hh = bw * p.box_scale_w / 2.0, bh * p.box_scale_h / 2.0
        cy += p.box_shift_y * bh
        box = np.array([cx - hw, cy - hh, cx + hw, cy + hh], np.float64)
        return Detection(box=box, score=float(score))


def make_detector(name: str, min_face_px: int = 12) -> FaceDetector:
    if name == "thermal_blob":
        return ThermalBlobDetector(BlobDetectorParams(min_face_px=min_face_px))
    raise ValueError(f"unknown detector {name!r}; available: thermal_blob")
