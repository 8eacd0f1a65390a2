"""Face localisation in a full thermal frame.

Default: a classical warm-head detector. Exposed facial skin (30-36 °C) is the warmest large, compact,
round region of a thermal frame; hair, clothes and most backgrounds are colder, and the head joins the
body only through the narrower neck. So the normalised frame is thresholded at several levels, and in each
warm mask the local maxima of the distance transform (centres of the largest inscribed discs, i.e. round
blobs, which the neck separates from the torso) become head candidates. Each candidate is scored by a
logistic model over a few thermal/shape features (warmer than its surroundings and than what lies above
it, round, size, level), fitted on real FLIR Lepton frames with face boxes and checked participant-wise
(``bench/fit_detector.py``, ``bench/eval_detector.py``); overlapping candidates are merged by NMS.
Boxes follow ``crop.landmarks_box`` framing (a tight face box), calibrated on those frames.

A learned ONNX detector can replace it through the :class:`FaceDetector` protocol (:func:`make_detector`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import List, Protocol, Tuple  # noqa: F401

import cv2
import numpy as np


@dataclass
class Detection:
    box: np.ndarray  # [x0, y0, x1, y1] image pixels
    score: float  # [0, 1]


class FaceDetector(Protocol):
    def detect(self, frame01: np.ndarray, max_faces: int) -> List[Detection]:
        """Faces in a normalised float32 (H, W) frame in [0, 1], best first."""


def box_iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _inter_over_min(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(ix * iy / small) if small > 0 else 0.0


def nms(dets: List[Detection], iou: float, contained: float = 0.5) -> List[Detection]:
    """Greedy NMS; also drops a box mostly inside a better one (a face's lower half seen as a second blob)."""
    out: List[Detection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        if all(box_iou(d.box, o.box) < iou and _inter_over_min(d.box, o.box) < contained for o in out):
            out.append(d)
    return out


PATCH = 10  # candidate window resampled to PATCH x PATCH (relative to the disc's mean) for the scorer
PATCH_SPAN = 1.7  # window half-size in disc radii (covers hair/background above and the neck below)
HAND_FEATURES = ("level", "log_radius", "contrast_ring", "contrast_above", "inside_std", "ring_warm_frac",
                 "excess", "y_rel")
FEATURE_NAMES = HAND_FEATURES + tuple(f"patch_{i}" for i in range(PATCH * PATCH)) + ("one",)
# Scorer (MLP) and box regressor fitted by bench/fit_detector.py on the Chips Thermal Face subset.
DETECTOR_PARAMS_PATH = Path(__file__).resolve().parent / "data" / "thermal_blob_detector.json"


@dataclass
class BlobDetectorParams:
    work_size: int = 160  # longest side of the working image
    levels: Tuple[float, ...] = tuple(np.round(np.arange(0.30, 0.99, 0.05), 2).tolist())
    min_face_px: int = 8  # smallest face width reported (image pixels)
    min_radius_work: float = 2.0  # smallest inscribed-disc radius considered (working pixels)
    min_score: float = 0.05
    # Box from a disc of radius r at (x, y): width 2r*box_w, height 2r*box_h, centre shifted by box_dy*r.
    box_w: float = 0.95
    box_h: float = 1.22
    box_dy: float = 0.0
    nms_iou: float = 0.3


class ThermalBlobDetector:
    """Warm-head detector (see module docstring)."""

    def __init__(self, params: BlobDetectorParams | None = None, scorer: dict | None = None):
        self.p = params or BlobDetectorParams()
        if scorer is None:
            scorer = load_scorer()
        self._scorer = {k: np.asarray(v, np.float64) for k, v in scorer.items()
                        if k in ("mean", "std", "w1", "b1", "w2", "b2")}
        if self._scorer and self._scorer["mean"].shape != (len(FEATURE_NAMES),):
            raise ValueError(f"detector scorer expects {self._scorer['mean'].shape} features, "
                             f"the code makes {len(FEATURE_NAMES)}: refit with bench/fit_detector.py")

    def prepare(self, frame01: np.ndarray):
        """Working image (downscaled, lightly blurred) and its scale factor."""
        h, w = frame01.shape[:2]
        s = min(1.0, self.p.work_size / float(max(h, w)))
        img = frame01 if s == 1.0 else cv2.resize(frame01, (max(1, round(w * s)), max(1, round(h * s))),
                                                  interpolation=cv2.INTER_AREA)
        img = cv2.GaussianBlur(np.ascontiguousarray(img, np.float32), (3, 3), 0)
        return img, s

    def candidates(self, img: np.ndarray, s: float):
        """(features (K, F), discs (K, 3) x, y, r in working pixels) of head candidates."""
        p = self.p
        min_r = max(p.min_radius_work, 0.5 * p.min_face_px * s / p.box_w)
        kernel = np.ones((3, 3), np.uint8)
        ih, iw = img.shape
        integ = cv2.integral(img, sdepth=cv2.CV_64F)
        integ2 = cv2.integral(img * img, sdepth=cv2.CV_64F)
        discs = []
        for level in p.levels:
            mask = (img >= level).astype(np.uint8)
            if not mask.any():
                break
            dt = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
            # A mask with no background pixel at all gives huge distances: bound them by the diagonal
            # (never reached otherwise).
            np.minimum(dt, np.float32(np.hypot(ih, iw)), out=dt)
            peaks = (dt >= cv2.dilate(dt, kernel)) & (dt >= min_r)
            ys, xs = np.nonzero(peaks)
            if len(xs) == 0:
                continue
            rs = dt[ys, xs]
            order = np.argsort(-rs)  # (the fitted scorer was made with this tie order)
            xs, ys, rs = xs[order].astype(np.float64), ys[order].astype(np.float64), rs[order].astype(np.float64)
            # One disc per round blob: in order of decreasing radius, keep a peak and drop every later
            # peak inside its disc.
            alive = np.ones(len(xs), bool)
            keep = np.zeros(len(xs), bool)
            k = 0
            while k < len(xs):
                keep[k] = True
                rest = slice(k + 1, None)
                alive[rest] &= (xs[rest] - xs[k]) ** 2 + (ys[rest] - ys[k]) ** 2 >= rs[k] ** 2
                nxt = np.flatnonzero(alive[rest])
                k = k + 1 + int(nxt[0]) if len(nxt) else len(xs)
            xs, ys, rs = xs[keep], ys[keep], rs[keep]
            # warm pixels of this level's mask in each disc's window (read here: one integral per level)
            warm = self._window_sums(cv2.integral(mask, sdepth=cv2.CV_32S), xs, ys, rs)[0]
            discs.append(np.stack([xs, ys, rs, np.full(len(xs), level), warm], 1))
        if not discs:
            return np.zeros((0, len(FEATURE_NAMES))), np.zeros((0, 3))
        d = np.concatenate(discs)
        feats = self._features(img, integ, integ2, d[:, 3], d[:, 4], d[:, 0], d[:, 1], d[:, 2])
        return feats, d[:, :3]

    @staticmethod
    def _window_sums(integ, x, y, r):
        """Sums over each disc's context window (2.2 r left, right and above, r below) and its pixel count."""
        ih, iw = integ.shape[0] - 1, integ.shape[1] - 1
        x0, x1 = np.maximum(0, (x - 2.2 * r).astype(np.intp)), np.minimum(iw, (x + 2.2 * r + 1).astype(np.intp))
        y0, y1 = np.maximum(0, (y - 2.2 * r).astype(np.intp)), np.minimum(ih, (y + r + 1).astype(np.intp))
        sums = integ[y1, x1] - integ[y0, x1] - integ[y1, x0] + integ[y0, x0]
        return sums.astype(np.float64), (x1 - x0) * (y1 - y0)

    @staticmethod
    def _box_sums(integ, x0, y0, x1, y1):
        """Sums over [x0, x1) x [y0, y1) (arrays, clamped to the image) and the pixel counts."""
        ih, iw = integ.shape[0] - 1, integ.shape[1] - 1
        x0 = np.clip(np.rint(x0), 0, iw).astype(np.intp)
        x1 = np.clip(np.rint(x1), 0, iw).astype(np.intp)
        y0 = np.clip(np.rint(y0), 0, ih).astype(np.intp)
        y1 = np.clip(np.rint(y1), 0, ih).astype(np.intp)
        n = (x1 - x0) * (y1 - y0)
        return integ[y1, x1] - integ[y0, x1] - integ[y1, x0] + integ[y0, x0], n

    def _box_mean(self, integ, x0, y0, x1, y1):
        sm, n = self._box_sums(integ, x0, y0, x1, y1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, sm / np.maximum(n, 1), np.nan), n

    def _features(self, img, integ, integ2, level, warm, x, y, r):
        """Features (rows in FEATURE_NAMES order) of discs (x, y, r) found at ``level``, with ``warm`` pixels
        of that level's mask in their context window."""
        ih, iw = img.shape
        bm = self._box_mean
        a = 0.7 * r  # inner square of the disc
        inside, n_in = bm(integ, x - a, y - a, x + a + 1, y + a + 1)
        sq, _ = bm(integ2, x - a, y - a, x + a + 1, y + a + 1)
        var = np.maximum(sq - inside * inside, 0.0)
        # Ring: the band 1.2r..2.2r around the disc, left, right and above (below is neck/body).
        left, _ = bm(integ, x - 2.2 * r, y - r, x - 1.2 * r, y + r)
        right, _ = bm(integ, x + 1.2 * r + 1, y - r, x + 2.2 * r + 1, y + r)
        above, _ = bm(integ, x - r, y - 2.6 * r, x + r + 1, y - 1.4 * r)
        sides = np.stack([left, right], 1)
        n_sides = np.isfinite(sides).sum(1)
        ring = np.where(n_sides > 0, np.nansum(sides, 1) / np.maximum(n_sides, 1), level - 0.2)
        above = np.where(np.isfinite(above), above, level - 0.2)
        # Warm fraction of the window around the disc (beyond the disc itself).
        size = self._window_sums(integ, x, y, r)[1]
        disc_area = np.pi * r * r
        warm_frac = np.maximum(0.0, warm - disc_area) / np.maximum(size - disc_area, 1.0)
        hand = np.stack([level, np.log(r / max(iw, ih)), inside - ring, inside - above,
                         np.sqrt(var), warm_frac, inside - level, y / ih], 1)
        patches = np.stack([self._patch(img, xi, yi, ri).ravel() for xi, yi, ri in zip(x, y, r)])
        patches = patches - inside[:, None]
        return np.concatenate([hand, patches, np.ones((len(r), 1))], 1)

    @staticmethod
    def _patch(img, x, y, r):
        """PATCH x PATCH resampling of the window around a disc (edge pixels repeat beyond the frame)."""
        ih, iw = img.shape
        h = max(1, int(round(PATCH_SPAN * r)))
        xi, yi = int(round(x)), int(round(y))
        x0, x1, y0, y1 = xi - h, xi + h + 1, yi - h, yi + h + 1
        roi = img[max(0, y0):min(ih, y1), max(0, x0):min(iw, x1)]
        if x0 < 0 or y0 < 0 or x1 > iw or y1 > ih:
            roi = cv2.copyMakeBorder(roi, max(0, -y0), max(0, y1 - ih), max(0, -x0), max(0, x1 - iw),
                                     cv2.BORDER_REPLICATE)
        return cv2.resize(roi, (PATCH, PATCH), interpolation=cv2.INTER_AREA)

    def score(self, feats: np.ndarray):
        """(scores (K,), box deltas (K, 4)); without a fitted scorer: contrast only, no box refinement."""
        sc = self._scorer
        if not sc:
            i, j = FEATURE_NAMES.index("contrast_ring"), FEATURE_NAMES.index("contrast_above")
            return 1.0 / (1.0 + np.exp(-8.0 * (feats[:, i] + feats[:, j] - 0.2))), np.zeros((len(feats), 4))
        z = (feats - sc["mean"]) / sc["std"]
        hidden = np.maximum(z @ sc["w1"] + sc["b1"], 0.0)
        out = hidden @ sc["w2"] + sc["b2"]  # (K, 5): face logit, box deltas (dx, dy, log w, log h)
        return 1.0 / (1.0 + np.exp(-out[:, 0])), out[:, 1:]

    def raw_boxes(self, discs: np.ndarray, s: float) -> np.ndarray:
        p = self.p
        x, y, r = discs[:, 0], discs[:, 1], discs[:, 2]
        hw, hh = r * p.box_w, r * p.box_h
        cy = y + p.box_dy * r
        # +0.5: working-pixel centres to continuous coordinates, then back to the full frame.
        return np.stack([x + 0.5 - hw, cy + 0.5 - hh, x + 0.5 + hw, cy + 0.5 + hh], 1) / s

    def finish(self, feats: np.ndarray, boxes: np.ndarray, max_faces: int) -> List[Detection]:
        """Score candidates, refine their boxes, NMS."""
        if len(feats) == 0:
            return []
        scores, deltas = self.score(feats)
        keep = scores >= self.p.min_score
        boxes, deltas, scores = boxes[keep], deltas[keep], scores[keep]
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        cx = (boxes[:, 0] + boxes[:, 2]) / 2 + deltas[:, 0] * w
        cy = (boxes[:, 1] + boxes[:, 3]) / 2 + deltas[:, 1] * h
        w = w * np.exp(np.clip(deltas[:, 2], -1.0, 1.0))
        h = h * np.exp(np.clip(deltas[:, 3], -1.0, 1.0))
        refined = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
        dets = [Detection(box=b, score=float(c)) for b, c in zip(refined, scores)]
        return nms(dets, self.p.nms_iou)[:max_faces]

    def detect(self, frame01: np.ndarray, max_faces: int = 3) -> List[Detection]:
        img, s = self.prepare(frame01)
        if float(img.max()) - float(img.min()) < 0.05:  # no thermal contrast: nothing can stand out
            return []
        feats, discs = self.candidates(img, s)
        if len(feats) == 0:
            return []
        return self.finish(feats, self.raw_boxes(discs, s), max_faces)


def load_scorer(path: Path = DETECTOR_PARAMS_PATH) -> dict:
    """The fitted scorer/box regressor; an empty dict (contrast-only scoring) if the file is absent."""
    if not Path(path).is_file():
        return {}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


DETECTORS = ("cascade", "centreface", "thermal_blob")


def min_score(detector: FaceDetector, threshold: float) -> float:
    """The score a face of ``detector`` must reach to be kept: ``threshold``, or 0 for a detector that applies
    its own thresholds (the cascade: each of its detectors has its own score scale)."""
    return 0.0 if getattr(detector, "applies_thresholds", False) else float(threshold)


def detector_from_config(cfg) -> FaceDetector:
    """The detector a ``PipelineConfig`` asks for: the one place its detector fields map onto
    :func:`make_detector` (the pipeline, benchmarks and the report all build it here)."""
    return make_detector(cfg.detector, cfg.min_face_px, cfg.intra_op_threads, model_path=cfg.detector_model_path,
                         long_side=cfg.detector_long_side, threshold=cfg.detection_threshold,
                         cnn_threshold=cfg.cascade_cnn_threshold, flip_test=cfg.detector_flip_test)


def make_detector(name: str, min_face_px: int = 8, threads: int = 1, model_path: str = "",
                  long_side: int = 0, threshold: float = 0.5, cnn_threshold: float = 0.4,
                  flip_test: bool = False) -> FaceDetector:
    """``cascade``: the learned ONNX detector (``model_path``, empty = the bundled ``detector_chips``) at
    ``cnn_threshold``, and ``thermal_blob`` at ``threshold`` on frames where it finds no face (cascade.py);
    ``centreface``: the learned ONNX detector alone (``model_path``, empty = the bundled synthetic-only one);
    ``thermal_blob``: the hand-made warm-blob detector above (no model file).
    ``threads`` is the pipeline's one thread-pool setting (``intra_op_threads``, 0 = the library default),
    shared with the landmark model. Only the cascade applies thresholds itself (``applies_thresholds``).
    ``flip_test``: the CNN also sees the frame mirrored and averages the two (centreface.py)."""
    cv2.setNumThreads(int(threads) if threads > 0 else -1)  # OpenCV: 0 would mean "no threads", -1 its default
    if name == "thermal_blob":
        return ThermalBlobDetector(BlobDetectorParams(min_face_px=min_face_px))
    if name in ("centreface", "cascade"):
        from .centreface import CHIPS_DETECTOR_MODEL, DEFAULT_DETECTOR_MODEL, CentreFaceDetector

        default = CHIPS_DETECTOR_MODEL if name == "cascade" else DEFAULT_DETECTOR_MODEL
        cnn = CentreFaceDetector(model_path or default, threads, long_side, min_face_px=min(min_face_px, 6),
                                 flip_test=flip_test)
        if name == "centreface":
            return cnn
        from .cascade import CascadeDetector

        return CascadeDetector(cnn, ThermalBlobDetector(BlobDetectorParams(min_face_px=min_face_px)),
                               cnn_threshold, threshold)
    raise ValueError(f"unknown detector {name!r}; available: {', '.join(DETECTORS)}")
