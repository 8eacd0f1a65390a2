"""Evaluation: torch checkpoints and exported ONNX models on the same crops, decoded by the runtime codec.

Every prediction goes through ``thermal_fld_ros.codec.SimCCCodec.decode`` (ONNX models through the
runtime's ``LandmarkModel`` when it loads them), so the figures are the runtime's. Head pose is
estimated from predicted landmarks mapped back to image pixels, with the runtime's ``pose`` module,
on records with known pose and intrinsics.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch

from thermal_fld_ros.codec import SimCCCodec
from thermal_fld_ros.crop import invert, transform_points
from thermal_fld_ros.schemes import get_scheme
from training import metrics as M
from training.data.augment import Geometry


@dataclass
class EvalSet:
    """Deterministic (runtime) crops of one split, held in memory."""

    crops: np.ndarray  # (B, 1, H, W) in [0, 1]
    landmarks: np.ndarray  # (B, N, 2) crop pixels
    mask: np.ndarray  # (B, N) counted points
    matrices: np.ndarray  # (B, 2, 3) image -> crop
    pose_ypr: np.ndarray  # (B, 3) degrees, NaN unknown
    camera: list  # (3, 3) or None per sample
    image_landmarks: np.ndarray  # (B, N, 2) ground truth in image pixels (NaN unknown)
    rgb: np.ndarray  # (B, 3, H, W) paired RGB crops (zeros where none)
    has_rgb: np.ndarray  # (B,) bool

    def subset(self, keep: np.ndarray) -> EvalSet:
        return EvalSet(self.crops[keep], self.landmarks[keep], self.mask[keep], self.matrices[keep],
                       self.pose_ypr[keep], [c for c, k in zip(self.camera, keep) if k],
                       self.image_landmarks[keep], self.rgb[keep], self.has_rgb[keep])


def build_eval_set(dataset, limit: int = 0) -> EvalSet:
    """Crops of ``dataset`` (a ``LandmarkDataset`` with ``augment=None``), first ``limit`` (0: all)."""
    n = len(dataset) if not limit else min(limit, len(dataset))
    crops, lms, masks, mats, poses, cams, img_pts, rgbs, has = [], [], [], [], [], [], [], [], []
    for i in range(n):
        item = dataset[i]
        rec = dataset.records[i]
        pts, _ = dataset.points_of(rec)
        crops.append(item["thermal"].numpy())
        lms.append(item["landmarks"].numpy())
        masks.append(item["target_weight"].numpy() > 0)
        mats.append(dataset.crop_transform(rec, pts, Geometry()))
        poses.append(item["pose_ypr"].numpy())
        cams.append(rec.camera_matrix)
        img_pts.append(pts)
        rgbs.append(item["rgb"].numpy())
        has.append(bool(item["has_rgb"]))
    return EvalSet(np.stack(crops).astype(np.float32), np.stack(lms), np.stack(masks), np.stack(mats),
                   np.stack(poses).astype(np.float64), cams, np.stack(img_pts), np.stack(rgbs).astype(np.float32),
                   np.asarray(has, bool))


def standardise(crops: np.ndarray, mean: float, std: float) -> np.ndarray:
    return ((crops - np.float32(mean)) * np.float32(1.0 / std)).astype(np.float32)


def torch_logits(model, x: np.ndarray, batch: int = 64):
    """Logits of a torch model (on whatever device it is) for standardised inputs, as numpy."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    outs_x, outs_y = [], []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            lx, ly = model(torch.from_numpy(x[i:i + batch]).to(device))
            outs_x.append(lx.cpu().numpy())
            outs_y.append(ly.cpu().numpy())
    model.train(was_training)
    return np.concatenate(outs_x), np.concatenate(outs_y)


def predict_torch(model, es: EvalSet, codec: SimCCCodec, mean: float, std: float, modality: str = "thermal"):
    """Points (B, N, 2) and scores (B, N) of a torch model, decoded by the runtime codec."""
    x = es.rgb if modality == "rgb" else es.crops
    lx, ly = torch_logits(model, standardise(x, mean, std))
    return codec.decode(lx, ly)


def predict_onnx(path: Path, es: EvalSet, flip_test: bool = False):
    """Points and scores of an exported model through the runtime's LandmarkModel (its own metadata);
    ``flip_test`` as the runtime's option of that name."""
    from thermal_fld_ros.landmark_model import LandmarkModel

    model = LandmarkModel(path, intra_op_threads=1, flip_test=flip_test)
    pts, scores = [], []
    for i in range(0, len(es.crops), 64):
        p, s = model.predict(es.crops[i:i + 64, 0])
        pts.append(p)
        scores.append(s)
    return np.concatenate(pts), np.concatenate(scores)


def head_pose_errors(points_crop: np.ndarray, scores: Optional[np.ndarray], es: EvalSet, scheme_name: str):
    """Per-sample (yaw, pitch, roll) predicted from landmarks, and the true pose; NaN where not estimable."""
    from thermal_fld_ros.pose import estimate_pose

    face3d = get_scheme(scheme_name).mean_face_3d()
    pred = np.full((len(points_crop), 3), np.nan)
    for i, pts in enumerate(points_crop):
        if es.camera[i] is None or not np.isfinite(es.pose_ypr[i]).all():
            continue
        img_pts = transform_points(pts, invert(es.matrices[i]))
        pose = estimate_pose(img_pts, face3d, np.asarray(es.camera[i]),
                             scores=None if scores is None else scores[i])
        if pose is not None:
            pred[i] = pose.yaw_pitch_roll_deg
    return pred, es.pose_ypr


def evaluate_points(points: np.ndarray, scores: Optional[np.ndarray], es: EvalSet, scheme_name: str,
                    threshold: float = 0.10) -> Dict[str, object]:
    """Landmark figures + head-pose MAE for one model's predictions."""
    scheme = get_scheme(scheme_name)
    out = M.summarise(points, es.landmarks, es.mask, scheme.normaliser, threshold)
    pred_pose, gt_pose = head_pose_errors(points, scores, es, scheme_name)
    mae = M.angle_mae(pred_pose, gt_pose)
    valid = int((np.isfinite(pred_pose).all(1) & np.isfinite(gt_pose).all(1)).sum())
    out["pose_mae_deg"] = {"yaw": _f(mae[0]), "pitch": _f(mae[1]), "roll": _f(mae[2]),
                           "mean": _f(np.mean(mae)) if np.isfinite(mae).all() else None, "count": valid}
    return out


def _f(v) -> Optional[float]:
    return float(v) if np.isfinite(v) else None


def nme_array(points, es: EvalSet, scheme_name: str) -> np.ndarray:
    return M.nme_per_sample(points, es.landmarks, es.mask, get_scheme(scheme_name).normaliser)
