"""Fit the mesh -> iBUG-68 weights on 300-W AFW photos and check them on HELEN testset.

``python -m training.baselines.fit_mesh_map [--data ../shared/data/rgb_faces_300w] [--write]``

Why: the hand table (``mesh_map.HAND_MAP``) picks one surface vertex per iBUG point; iBUG's jaw is a
2D silhouette and its brow/nose points sit between vertices, so a fixed non-negative weighting of
the nearest vertices, fitted on real labelled photos, is closer. Fit on AFW (337), report on HELEN
testset (330, never fitted), in inter-ocular NME (outer eye corners), like 300-W. ``--write`` stores
the table in ``mesh_to_ibug68.json`` (derived from 300-W labels: research-use terms, said in the file).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from .mesh_map import FITTED_MAP_FILE, HAND_MAP

DEFAULT_DATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "rgb_faces_300w").resolve()
FIT_SET = "afw/afw"
CHECK_SET = "helen/testset"
CANDIDATES = 10  # nearest vertices (mean normalised distance) a point may be weighted over
SOURCE_TERMS = ("fitted on the 300-W re-annotation of AFW (iBUG, research use only, no commercial use); "
                "checked on HELEN testset")


def run_mesh_on_set(root: Path, subset: str, limit: int = 0, refine: bool = True, crop_scale: float = 0.0):
    """(meshes (F, 468, 3), ground truth (F, 68, 2) 0-based, files) for a 300-W folder."""
    import cv2

    from thermal_fld_ros.crop import landmarks_box
    from training.data.loaders import read_pts

    from .mediapipe_mesh import MESH_CROP_SCALE, FaceMesh

    mesh_model = FaceMesh(iris=False, crop_scale=crop_scale or MESH_CROP_SCALE)
    files = sorted((root / subset).glob("*.jpg"))
    if limit:
        files = files[:limit]
    meshes, gts = [], []
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is None:
            print(f"{f}: unreadable image, skipped", file=sys.stderr)
            continue
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        gt = read_pts(f.with_suffix(".pts")) - 1.0  # 300-W .pts are 1-based
        meshes.append(mesh_model.run(rgb, landmarks_box(gt), refine=refine).mesh)
        gts.append(gt)
    return np.stack(meshes), np.stack(gts), files


def nme_of(weights: np.ndarray, meshes: np.ndarray, gts: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(per-face NME, per-point mean error) of ibug68 = weights @ mesh, inter-ocular (36, 45)."""
    pred = np.einsum("pv,fvd->fpd", weights, meshes[..., :2])
    iod = np.linalg.norm(gts[:, 36] - gts[:, 45], axis=-1)
    err = np.linalg.norm(pred - gts, axis=-1) / iod[:, None]
    return err.mean(1), err.mean(0)


def hand_weights() -> np.ndarray:
    w = np.zeros((68, 468))
    w[np.arange(68), list(HAND_MAP)] = 1.0
    return w


def fit_weights(meshes: np.ndarray, gts: np.ndarray, candidates: int = CANDIDATES) -> np.ndarray:
    """(68, 468) non-negative weights summing to 1 per point, least squares in inter-ocular units."""
    from scipy.optimize import nnls

    iod = np.linalg.norm(gts[:, 36] - gts[:, 45], axis=-1)[:, None]
    out = np.zeros((68, meshes.shape[1]))
    for p in range(68):
        d = np.linalg.norm(meshes[..., :2] - gts[:, p:p + 1], axis=-1) / iod  # (F, 468)
        cand = np.argsort(d.mean(0))[:candidates]
        # rows: x and y of every face, scaled by 1/iod; a heavy row forces sum(w) = 1 (affine, shift-free)
        a = np.concatenate([meshes[:, cand, 0] / iod, meshes[:, cand, 1] / iod])
        b = np.concatenate([gts[:, p, 0] / iod[:, 0], gts[:, p, 1] / iod[:, 0]])
        heavy = 1e3
        a = np.vstack([a, heavy * np.ones(len(cand))])
        b = np.append(b, heavy)
        w, _ = nnls(a, b)
        w /= w.sum()
        keep = w > 1e-3
        out[p, cand[keep]] = w[keep] / w[keep].sum()
    return out


def summary(name: str, per_face: np.ndarray) -> Dict[str, float]:
    return {"set": name, "faces": int(per_face.size), "nme_mean": round(float(per_face.mean()), 4),
            "nme_median": round(float(np.median(per_face)), 4)}


def main(argv: List[str] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.baselines.fit_mesh_map", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="rgb_faces_300w folder")
    ap.add_argument("--limit", type=int, default=0, help="first N photos of each set (0: all)")
    ap.add_argument("--crop-scale", type=float, default=0.0, help="mesh crop side / box side (0: MESH_CROP_SCALE)")
    ap.add_argument("--write", action="store_true", help=f"store the fitted table in {FITTED_MAP_FILE.name}")
    args = ap.parse_args(argv)
    from .mediapipe_mesh import unavailable_reason

    reason = unavailable_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    if not (args.data / FIT_SET).is_dir():
        print(f"{args.data / FIT_SET}: 300-W AFW folder not found; pass --data", file=sys.stderr)
        return 2
    fit_m, fit_g, _ = run_mesh_on_set(args.data, FIT_SET, args.limit, crop_scale=args.crop_scale)
    chk_m, chk_g, _ = run_mesh_on_set(args.data, CHECK_SET, args.limit, crop_scale=args.crop_scale)
    hand = hand_weights()
    fitted = fit_weights(fit_m, fit_g)
    rows = []
    for label, w in (("hand", hand), ("fitted", fitted)):
        for name, m, g in (("AFW (fit)", fit_m, fit_g), ("HELEN testset (held out)", chk_m, chk_g)):
            per_face, _ = nme_of(w, m, g)
            rows.append({"map": label, **summary(name, per_face)})
            print(f"{label:6s} {name:26s} faces {per_face.size:4d}  NME mean {per_face.mean():.4f}  "
                  f"median {np.median(per_face):.4f}")
    if args.write:
        table = [[[int(v), round(float(w), 5)] for v in np.flatnonzero(fitted[p]) for w in [fitted[p, v]]]
                 for p in range(68)]
        doc = {"what": "MediaPipe face mesh (468) -> iBUG-68 weights; ibug_point = sum(w * vertex)",
               "source": SOURCE_TERMS, "command": "python -m training.baselines.fit_mesh_map --write",
               "figures": rows, "weights": table}
        FITTED_MAP_FILE.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {FITTED_MAP_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
