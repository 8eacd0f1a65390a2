"""Landmark metrics (numpy): inter-ocular NME, failure rate, CED / AUC, per-landmark error, pose MAE.

NME is computed in crop pixels; the crop is a similarity transform of the image, so the value is
the same as in image pixels.
"""
from __future__ import annotations

import warnings
from typing import Dict, Tuple

import numpy as np


def point_errors(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, normaliser: Tuple[int, int]) -> np.ndarray:
    """(B, N) point errors divided by each sample's inter-ocular distance; NaN where not counted."""
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    mask = np.asarray(mask, bool) & np.isfinite(gt).all(-1)
    a, b = normaliser
    norm = np.linalg.norm(gt[:, a] - gt[:, b], axis=-1)  # (B,)
    err = np.linalg.norm(pred - gt, axis=-1) / np.where(norm > 1e-6, norm, np.nan)[:, None]
    return np.where(mask, err, np.nan)


def nme_per_sample(pred, gt, mask, normaliser) -> np.ndarray:
    """(B,) mean normalised error over each sample's counted points (NaN when none count)."""
    err = point_errors(pred, gt, mask, normaliser)
    counted = np.isfinite(err).sum(1)
    return np.where(counted > 0, np.nansum(err, 1) / np.maximum(counted, 1), np.nan)


def failure_rate(nme: np.ndarray, threshold: float = 0.10) -> float:
    nme = nme[np.isfinite(nme)]
    return float(np.mean(nme > threshold)) if nme.size else float("nan")


def auc(nme: np.ndarray, threshold: float = 0.10) -> float:
    """Area under the CED curve up to ``threshold``, normalised to [0, 1].

    Closed form of (1/thr) * integral_0^thr P(NME <= x) dx = mean(max(thr - NME, 0)) / thr.
    """
    nme = nme[np.isfinite(nme)]
    if not nme.size:
        return float("nan")
    return float(np.mean(np.clip(threshold - nme, 0.0, None)) / threshold)


def ced_curve(nme: np.ndarray, threshold: float = 0.10, points: int = 101):
    """(x, fraction of samples with NME <= x) for the CED plot."""
    nme = nme[np.isfinite(nme)]
    xs = np.linspace(0.0, threshold, points)
    ys = (nme[None, :] <= xs[:, None]).mean(1) if nme.size else np.zeros_like(xs)
    return xs, ys


def angle_mae(pred_deg: np.ndarray, true_deg: np.ndarray) -> np.ndarray:
    """Per-axis mean absolute angle difference (wrapped to [-180, 180)) over finite rows."""
    pred_deg = np.asarray(pred_deg, np.float64)
    true_deg = np.asarray(true_deg, np.float64)
    ok = np.isfinite(pred_deg).all(1) & np.isfinite(true_deg).all(1)
    if not ok.any():
        return np.full(3, np.nan)
    d = (pred_deg[ok] - true_deg[ok] + 180.0) % 360.0 - 180.0
    return np.abs(d).mean(0)


def summarise(pred, gt, mask, normaliser, threshold: float = 0.10) -> Dict[str, object]:
    """All landmark figures of one model on one set, as plain JSON-able values."""
    err = point_errors(pred, gt, mask, normaliser)
    nme = nme_per_sample(pred, gt, mask, normaliser)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # points no sample counts (absent in the data's scheme)
        per_point = np.nanmean(err, 0) if len(err) else np.array([])
    finite = nme[np.isfinite(nme)]
    return {
        "count": int(finite.size),
        "nme": float(finite.mean()) if finite.size else float("nan"),
        "nme_median": float(np.median(finite)) if finite.size else float("nan"),
        f"fr@{threshold:.2f}": failure_rate(nme, threshold),
        f"auc@{threshold:.2f}": auc(nme, threshold),
        "per_landmark_nme": [None if not np.isfinite(v) else float(v) for v in per_point],
    }


def presence_summary(p_face: np.ndarray, p_negative: np.ndarray, threshold: float = 0.5) -> Dict[str, float]:
    """Face/not-face figures of presence probabilities on face crops and on non-face crops.

    ``auc``: probability that a random face crop scores above a random non-face crop (ties count half).
    """
    pf = np.asarray(p_face, np.float64).ravel()
    pn = np.asarray(p_negative, np.float64).ravel()
    if not len(pf) or not len(pn):
        raise ValueError("presence_summary needs face and non-face crops")
    above = (pf[:, None] > pn[None, :]).mean() + 0.5 * (pf[:, None] == pn[None, :]).mean()
    return {"auc": float(above), "mean_face": float(pf.mean()), "mean_non_face": float(pn.mean()),
            "threshold": float(threshold), "face_recall": float((pf >= threshold).mean()),
            "non_face_accepted": float((pn >= threshold).mean()), "faces": int(len(pf)), "non_faces": int(len(pn))}
