"""``python -m training presence-eval``: does the student's face-presence output separate real faces from
non-faces? Measured on real frames with face boxes (the Chips Lepton set), which no landmark model trained on.

Face crops are the runtime's crop of each true box; non-face crops are drawn around the same boxes as the
training negatives are (``training.data.dataset.negative_geometry``: off-face, half-face, zoomed out, zoomed
in), skipping any that would contain another true face. Frames go through the runtime frame path (bgr8 ->
palette inversion -> normalise), as in ``training.detection_eval``. A second readout takes the crops the
runtime detector (pipeline defaults) hands the landmark model: how many of its boxes on no face (hot
objects, bodies) the presence output drops, and how many on a face it keeps. The default detector was
fitted on these frames (in-sample), so its false boxes are fewer than on a new camera; the landmark model
never saw them.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from training.detection_eval import DEFAULT_DATA

THRESHOLDS = (0.3, 0.5, 0.7)  # presence thresholds every readout is given at (the runtime default: 0.5)


def _window(box: np.ndarray, scale: float, shift: Tuple[float, float]) -> Tuple[np.ndarray, float]:
    """Centre and side (image pixels) of the crop ``crop_matrix`` takes for ``box``."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0, 1.0) * scale
    centre = np.array([0.5 * (x0 + x1) + shift[0] * side, 0.5 * (y0 + y1) + shift[1] * side])
    return centre, side


def _holds_a_face(centre: np.ndarray, side: float, boxes: np.ndarray) -> bool:
    """True when a true face's centre lies in the crop's central half and the face is not tiny in it."""
    for b in boxes:
        c = np.array([0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3])])
        size = max(b[2] - b[0], b[3] - b[1])
        if np.all(np.abs(c - centre) <= 0.25 * side) and size >= 0.2 * side:
            return True
    return False


def _landmark_input(item) -> np.ndarray:
    """The normalised [0, 1] frame the pipeline crops faces from (``frames.from_array`` -> ``normalise``)."""
    from thermal_fld_ros.config import PipelineConfig
    from thermal_fld_ros.frames import from_array
    from thermal_fld_ros.normalise import normalise

    fcfg = PipelineConfig().frame_config()
    frame = from_array(item.image, item.encoding, fcfg)
    return normalise(frame.data, frame.kind, fcfg.normalise_config())


def presence_crops(items, input_size, seed: int = 0, per_face: int = 2) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """(face crops, non-face crops, negative kinds) in [0, 1], (B, H, W), from ``load_dataset`` items."""
    from thermal_fld_ros.crop import CROP_SCALE, crop_matrix, warp
    from training.data.augment import Geometry
    from training.data.dataset import negative_geometry

    rng = np.random.default_rng(seed)
    faces, negatives, kinds = [], [], []
    for it in items:
        boxes = it.boxes
        frame01 = _landmark_input(it)
        for box in boxes:
            faces.append(warp(frame01, crop_matrix(box, input_size, scale=CROP_SCALE), input_size))
            for _ in range(per_face):
                geo = negative_geometry(rng, Geometry())
                centre, side = _window(box, CROP_SCALE * geo.scale, geo.shift)
                if _holds_a_face(centre, side, boxes):
                    continue
                m = crop_matrix(box, input_size, scale=CROP_SCALE * geo.scale, shift=geo.shift)
                negatives.append(warp(frame01, m, input_size))
                kinds.append("zoom" if geo.shift == (0.0, 0.0) else "shift")
    return np.asarray(faces, np.float32), np.asarray(negatives, np.float32), kinds


def detection_crops(items, input_size) -> Tuple[np.ndarray, np.ndarray]:
    """(crops of detections on a true face, crops of detections on none) in [0, 1], (B, H, W): what the runtime
    detector (``PipelineConfig`` defaults) hands the landmark model on these frames, face or not."""
    from thermal_fld_ros.config import PipelineConfig
    from thermal_fld_ros.crop import CROP_SCALE, crop_matrix, warp
    from thermal_fld_ros.detector import detector_from_config, min_score
    from training.detection_eval import detect_all

    cfg = PipelineConfig()
    detector = detector_from_config(cfg)
    floor = min_score(detector, cfg.detection_threshold)
    on_face, off_face = [], []
    for it, (_, dets) in zip(items, detect_all(items, detector, cfg, cfg.max_faces)):
        frame01 = _landmark_input(it)
        for d in dets:
            if d.score < floor:
                continue
            centre, side = _window(d.box, CROP_SCALE, (0.0, 0.0))
            crop = warp(frame01, crop_matrix(d.box, input_size, scale=CROP_SCALE), input_size)
            (on_face if _holds_a_face(centre, side, it.boxes) else off_face).append(crop)
    shape = (-1,) + tuple(int(v) for v in input_size[::-1])
    return (np.asarray(on_face, np.float32).reshape(shape), np.asarray(off_face, np.float32).reshape(shape))


def presence_probabilities(model_path: Path, crops: np.ndarray) -> np.ndarray:
    """The model's ``presence`` output for (B, H, W) crops in [0, 1], standardised by its own metadata."""
    from thermal_fld_ros.landmark_model import LandmarkModel

    model = LandmarkModel(model_path, intra_op_threads=1)
    m = model.meta
    if "presence" not in m.outputs:
        raise ValueError(f"{model_path}: the model has no 'presence' output (metadata outputs {m.outputs}); "
                         f"train it with models.presence: true")
    x = ((crops - np.float32(m.input_mean)) * np.float32(1.0 / m.input_std))[:, None].astype(np.float32)
    out = [model.session.run(["presence"], {m.input_name: x[i:i + 64]})[0] for i in range(0, len(x), 64)]
    return np.concatenate(out).reshape(-1)


def evaluate_presence(model_path: Path, data_dir: Path = DEFAULT_DATA, seed: int = 0,
                      limit: int = 0) -> Dict[str, object]:
    """AUC and rates at thresholds 0.3 / 0.5 / 0.7 of ``presence`` on real face vs non-face crops."""
    from thermal_fld_ros.landmark_model import LandmarkModel
    from training.detection_eval import load_dataset
    from training.metrics import presence_summary

    items = load_dataset(Path(data_dir))
    if limit:
        items = items[:limit]
    if not items:
        raise FileNotFoundError(f"no frames with face boxes in {data_dir} (expected images/ and "
                                f"annotations_yolo_format/)")
    size = tuple(LandmarkModel(model_path).meta.input_size)
    faces, negatives, _ = presence_crops(items, size, seed)
    p_face, p_neg = presence_probabilities(model_path, faces), presence_probabilities(model_path, negatives)
    on_face, off_face = detection_crops(items, size)
    p_on, p_off = presence_probabilities(model_path, on_face), presence_probabilities(model_path, off_face)
    return {"model": str(model_path), "data": str(data_dir), "frames": len(items),
            "at": {str(t): presence_summary(p_face, p_neg, t) for t in THRESHOLDS},
            "detections": {"on_face": int(len(p_on)), "off_face": int(len(p_off)),
                           "at": {str(t): {"kept_on_face": float(np.mean(p_on >= t)) if len(p_on) else float("nan"),
                                           "kept_off_face": float(np.mean(p_off >= t)) if len(p_off) else float("nan")}
                                  for t in THRESHOLDS}}}


def _cmd(args: argparse.Namespace) -> int:
    try:
        res = evaluate_presence(Path(args.model), Path(args.data), args.seed, args.limit)
    except (ValueError, FileNotFoundError) as exc:
        print(f"presence-eval: {exc}")
        return 2
    r = res["at"]["0.5"]
    print(f"presence on {res['frames']} real frames: {r['faces']} face crops, {r['non_faces']} non-face crops; "
          f"AUC {r['auc']:.3f}; mean P(face) {r['mean_face']:.3f} on faces, {r['mean_non_face']:.3f} on non-faces")
    for t, s in res["at"].items():
        print(f"  threshold {t}: faces kept {s['face_recall']:.3f}, non-faces accepted {s['non_face_accepted']:.3f}")
    d = res["detections"]
    print(f"the runtime detector's boxes: {d['on_face']} on a true face, {d['off_face']} on none")
    for t, s in d["at"].items():
        print(f"  threshold {t}: on a face kept {s['kept_on_face']:.3f}, on none kept {s['kept_off_face']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1), encoding="utf-8")
    return 0


def register(sub) -> None:
    p = sub.add_parser("presence-eval", help="face-presence output on real face vs non-face crops (Chips frames)")
    p.add_argument("--model", default="thermal_fld_ros/models/student.onnx", help="ONNX model with 'presence'")
    p.add_argument("--data", default=str(DEFAULT_DATA), help="frames with YOLO face boxes (Chips layout)")
    p.add_argument("--seed", type=int, default=0, help="draws of the non-face crops")
    p.add_argument("--limit", type=int, default=0, help="use the first N frames (0: all)")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.set_defaults(func=_cmd)
