"""Face-detector accuracy on frames with face boxes: the Chips Thermal Face reader, greedy matching, AP.

Shared by ``bench/eval_detector.py`` (prints it), ``bench/fit_detector.py``, the detector's training on real
frames (``training/detector/real.py``) and ``python -m training report`` (the library never loads a bench
script). Frames are read by the runtime's own file reader (``FileSource``: false-colour JPEGs come as bgr8)
and seen through the runtime's palette inversion exactly as a stream of that encoding would be.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, NamedTuple, Sequence

import numpy as np

from thermal_fld_ros.config import PipelineConfig
from thermal_fld_ros.detector import box_iou
from thermal_fld_ros.file_source import FileSource, with_encoding
from thermal_fld_ros.frames import from_array
from thermal_fld_ros.normalise import normalise
from thermal_fld_ros.pipeline import detector_frame

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_thermal" / "chips_thermal_face"


class BoxedFrame(NamedTuple):
    """One labelled frame: file stem, the array as ``FileSource`` read it, true face boxes (K, 4) x0 y0 x1 y1."""

    name: str
    image: np.ndarray
    boxes: np.ndarray

    @property
    def encoding(self) -> str:
        """The frame's ROS encoding by ``FileSource``'s rules (bgr8 for the Chips false-colour JPEGs)."""
        return with_encoding(self.image)[1]


def load_dataset(data_dir: Path, only: Sequence[str] = ()) -> List[BoxedFrame]:
    """Every readable frame of ``data_dir/images`` in file-name order (or the ``<stem>.jpeg`` of each stem in
    ``only``) with its ``annotations_yolo_format`` boxes; an unreadable file is skipped with one line."""
    data_dir = Path(data_dir)
    images = data_dir / "images"
    sources = [FileSource(images / f"{s}.jpeg") for s in only] if only else [FileSource(images)]
    items = []
    for sf in (f for src in sources for f in src.frames()):
        if sf.array is None:
            print(f"skipping {sf.name}: {sf.issue.message if sf.issue else 'unreadable'}")
            continue
        stem = Path(sf.name).stem
        h, w = sf.array.shape[:2]
        items.append(BoxedFrame(stem, sf.array, read_yolo_boxes(data_dir / "annotations_yolo_format" / f"{stem}.txt",
                                                                 w, h)))
    return items


def read_yolo_boxes(label: Path, w: int, h: int) -> np.ndarray:
    """(K, 4) x0 y0 x1 y1 pixel boxes from a YOLO ``class cx cy w h`` (normalised) label file; none if absent."""
    boxes = []
    if Path(label).is_file():
        for line in Path(label).read_text().split("\n"):
            parts = line.split()
            if len(parts) == 5:
                cx, cy, bw, bh = (float(v) for v in parts[1:])
                boxes.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
    return np.asarray(boxes, np.float64).reshape(-1, 4)


def detector_input(array: np.ndarray, encoding: str, cfg: PipelineConfig) -> np.ndarray:
    """The [0, 1] image the pipeline hands its detector for one raw frame (before the detector's resize):
    ``frames.from_array`` -> ``normalise`` -> ``pipeline.detector_frame``."""
    fcfg = cfg.frame_config()
    ncfg = fcfg.normalise_config()
    frame = from_array(array, encoding, fcfg)
    return detector_frame(frame.data, frame.kind, normalise(frame.data, frame.kind, ncfg), ncfg)


def detect_all(items: Sequence[BoxedFrame], detector, cfg: PipelineConfig, max_faces: int):
    """[(name, detections)] running the runtime's frame path (bgr8 -> palette inversion -> normalise)."""
    return [(it.name, detector.detect(detector_input(it.image, it.encoding, cfg), max_faces)) for it in items]


def evaluate(items, detections, iou_thr: float = 0.5):
    """Greedy matching by score; returns dict with AP, best-F1 point and (score, tp) arrays."""
    scored = []  # (score, is_tp)
    n_gt = 0
    for (_, _, gt), (_, dets) in zip(items, detections):
        n_gt += len(gt)
        used = np.zeros(len(gt), bool)
        for d in sorted(dets, key=lambda d: -d.score):
            ious = [box_iou(d.box, g) if not used[j] else 0.0 for j, g in enumerate(gt)]
            j = int(np.argmax(ious)) if ious else -1
            tp = j >= 0 and ious[j] >= iou_thr
            if tp:
                used[j] = True
            scored.append((d.score, tp))
    scored.sort(key=lambda s: -s[0])
    scores = np.array([s for s, _ in scored])
    tps = np.array([t for _, t in scored], bool)
    ctp = np.cumsum(tps)
    prec = ctp / np.arange(1, len(tps) + 1) if len(tps) else np.zeros(0)
    rec = ctp / max(n_gt, 1) if len(tps) else np.zeros(0)
    # AP: area under the interpolated (monotone) precision-recall curve.
    ap = 0.0
    if len(tps):
        p_interp = np.maximum.accumulate(prec[::-1])[::-1]
        r_prev = np.concatenate([[0.0], rec[:-1]])
        ap = float(np.sum((rec - r_prev) * p_interp))
    f1 = 2 * prec * rec / np.maximum(prec + rec, 1e-9) if len(tps) else np.zeros(0)
    best = int(np.argmax(f1)) if len(f1) else -1
    return {
        "n_images": len(items), "n_gt": n_gt, "n_det": len(tps), "ap50": ap,
        "best_f1": float(f1[best]) if best >= 0 else 0.0,
        "best_threshold": float(scores[best]) if best >= 0 else 1.0,
        "best_precision": float(prec[best]) if best >= 0 else 0.0,
        "best_recall": float(rec[best]) if best >= 0 else 0.0,
        "scores": scores, "tps": tps,
    }


def recall_at_precision(res, min_precision: float) -> float:
    """Highest recall reached at precision >= ``min_precision`` (0 when never reached)."""
    tps = res["tps"]
    if not len(tps):
        return 0.0
    prec = np.cumsum(tps) / np.arange(1, len(tps) + 1)
    rec = np.cumsum(tps) / max(res["n_gt"], 1)
    ok = prec >= min_precision
    return float(rec[ok].max()) if ok.any() else 0.0


def at_threshold(res, threshold: float):
    """(precision, recall) of the detections scoring >= ``threshold``."""
    keep = res["scores"] >= threshold
    tp = int(res["tps"][keep].sum())
    n = int(keep.sum())
    return (tp / n if n else 0.0), tp / max(res["n_gt"], 1)
