"""Face detector accuracy on real FLIR Lepton frames with face boxes (Chips Thermal Face subset).

Prints precision, recall and AP@0.5 over all detections, plus the best operating point (max F1) and
the precision/recall at the runtime's default detection threshold. Images are false-colour JPEGs,
read through the runtime's palette inversion exactly as a bgr8 stream would be.

    .venv/bin/python bench/eval_detector.py [--data DIR] [--iou 0.5] [--max-faces 8]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from thermal_fld_ros.config import PipelineConfig  # noqa: E402
from thermal_fld_ros.detector import box_iou, load_scorer, make_detector  # noqa: E402
from thermal_fld_ros.frames import from_array  # noqa: E402
from thermal_fld_ros.normalise import normalise  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "real_thermal" / "chips_thermal_face"


def load_dataset(data_dir: Path):
    """[(name, bgr uint8 image, gt boxes (K, 4) x0 y0 x1 y1 pixels)] from images/ + annotations_yolo_format/."""
    items = []
    for img_path in sorted((data_dir / "images").glob("*.jpeg")):
        img = cv2.imread(str(img_path))
        if img is None:
            continue
        h, w = img.shape[:2]
        boxes = []
        label = data_dir / "annotations_yolo_format" / (img_path.stem + ".txt")
        if label.is_file():
            for line in label.read_text().split("\n"):
                parts = line.split()
                if len(parts) == 5:
                    cx, cy, bw, bh = (float(v) for v in parts[1:])
                    boxes.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
        items.append((img_path.stem, img, np.asarray(boxes, np.float64).reshape(-1, 4)))
    return items


def detect_all(items, detector, cfg: PipelineConfig, max_faces: int):
    """[(name, detections)] running the runtime's frame path (bgr8 -> palette inversion -> normalise)."""
    fcfg = cfg.frame_config()
    out = []
    for name, img, _ in items:
        frame = from_array(img, "bgr8", fcfg)
        frame01 = normalise(frame.data, frame.kind, fcfg.normalise_config())
        out.append((name, detector.detect(frame01, max_faces)))
    return out


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


def at_threshold(res, threshold: float):
    keep = res["scores"] >= threshold
    tp = int(res["tps"][keep].sum())
    n = int(keep.sum())
    return (tp / n if n else 0.0), tp / max(res["n_gt"], 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--iou", type=float, default=0.5)
    ap.add_argument("--max-faces", type=int, default=8)
    args = ap.parse_args(argv)
    if not (args.data / "images").is_dir():
        print(f"no dataset at {args.data} (expected images/ and annotations_yolo_format/)")
        return 1
    cfg = PipelineConfig()
    items = load_dataset(args.data)
    det = make_detector(cfg.detector, cfg.min_face_px)
    t0 = time.perf_counter()
    dets = detect_all(items, det, cfg, args.max_faces)
    ms = (time.perf_counter() - t0) * 1e3 / max(len(items), 1)
    res = evaluate(items, dets, args.iou)
    p, r = at_threshold(res, cfg.detection_threshold)
    print(f"detector {cfg.detector} on {res['n_images']} images, {res['n_gt']} faces, {res['n_det']} detections "
          f"(max {args.max_faces}/image), IoU >= {args.iou}")
    print(f"AP@{args.iou}: {res['ap50']:.3f}")
    print(f"best F1 {res['best_f1']:.3f} at score >= {res['best_threshold']:.3f}: "
          f"precision {res['best_precision']:.3f}, recall {res['best_recall']:.3f}")
    print(f"default detection_threshold {cfg.detection_threshold}: precision {p:.3f}, recall {r:.3f}")
    print(f"mean time per frame (palette inversion + normalise + detect, 160x120): {ms:.2f} ms")
    fitted = load_scorer().get("fitted_on")
    if fitted:
        print(f"NOTE: in-sample figures: the scorer was fitted on {fitted} (bench/fit_detector.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
