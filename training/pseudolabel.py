"""Pseudo-labels for real unlabelled thermal faces from MediaPipe's face mesh, as a generic-loader dataset.

``python -m training pseudolabel --out DIR [--data ../shared/data/real_thermal]``

Why: real thermal appearance (sensor noise, hair, glasses, cold noses) is what the synthetic renders
lack; MediaPipe's RGB mesh, run on the grey thermal face, gives usable points on frontal faces and
says itself when it does not (face flag). Each face is labelled twice, on the crop and on its mirror
image; the label is their mean, a point's weight falls with their disagreement, and a face is kept
only when the face flag of both passes is confident and the two agree.

Sources (``../shared/data/real_thermal``, read each ``SOURCE.md``):

- ``puj_lwir_faces`` (PUJ_T360, PUJ_FONE): one registered face per image, background masked to 0;
  the box is the bounding box of the non-background pixels without its top quarter
  (forehead and hair). Terms: no data licence stated
  (code GPL-3.0): internal research use, no redistribution.
- ``chips_thermal_face``: YOLO face boxes on 160x120 Lepton frames (palettes); only faces whose
  larger box side is at least ``--min-face-px`` (40) are used. Terms: non-commercial research and
  education only.

Output, one folder per source subset (``puj_t360``, ``puj_fone``, ``chips``), read by
``training.data.loaders.load_generic(DIR, split=<folder>, scheme="ibug70")``::

    DIR/<folder>/<name>.<ext>   the source image, copied unchanged (chips: <stem>_f<k> per face)
    DIR/<folder>/<name>.json    {"landmarks": 70 x [x, y] (0-based px, null where unknown),
                                 "visible": 70 per-point weights 0..1 (flip agreement; the loader
                                 multiplies them into the loss weights), "box", "confidence",
                                 "face_score", "flip_nme", "source", "source_file", "subject",
                                 "terms", "labeller"}
    DIR/summary.json            counts per source and the settings used

The images stay outside the repository (never commit DIR); the terms travel with every label file.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

DEFAULT_DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real_thermal").resolve()
SOURCE_NAMES = ("puj", "chips")
MIN_FACE_PX = 40.0  # larger side of a Chips face box, pixels
MIN_CONFIDENCE = 0.5  # both face flags (MediaPipe's own threshold)
# PUJ's foreground includes forehead and hair; the mesh wants the runtime's landmarks_box framing
# (brows to chin): cutting the top quarter kept 78 % instead of 40 % of T360 faces (mirror agreement,
# no labels used).
PUJ_FOREHEAD_CUT = 0.25
MAX_FLIP_NME = 0.08  # mean crop-vs-mirror disagreement, in outer-eye-corner distances
FLIP_SIGMA = 0.05  # per-point weight exp(-d^2 / (2 (sigma * iod)^2)), d the disagreement
PUJ_TERMS = ("PUJ LWIR faces (KmiloRod/IQA_LWIR_face_recognition): no data licence stated (code GPL-3.0); "
             "internal research use only, do not redistribute")
CHIPS_TERMS = ("Chips Thermal Face Dataset: non-commercial research and educational use only; "
               "publications must reference it")


@dataclass(frozen=True)
class FaceCandidate:
    """One real face to label: its image, face box and where it came from."""

    image_path: Path
    box: np.ndarray  # [x0, y0, x1, y1] pixels
    folder: str  # output folder (puj_t360, puj_fone, chips)
    source: str  # dataset/subset as in ../shared
    terms: str
    subject: str
    out_stem: str
    ignore_value: Optional[float] = None  # masked background value left out of the grey window


@dataclass(frozen=True)
class PseudoLabel:
    """MediaPipe's points for one face, their weights and whether the face is kept."""

    points: np.ndarray  # (70, 2) image pixels, NaN unknown
    weights: np.ndarray  # (70,) 0..1
    face_score: float
    confidence: float  # min of the two passes' face flags
    flip_nme: float  # mean disagreement of crop and mirror, in outer-eye-corner distances
    kept: bool


@dataclass
class SourceCount:
    candidates: int = 0
    too_small: int = 0
    kept: int = 0
    low_face_flag: int = 0
    flip_disagree: int = 0


@dataclass
class PseudoLabelSummary:
    """What ``pseudolabel`` wrote: counts per output folder and the settings."""

    out: str
    counts: Dict[str, SourceCount] = field(default_factory=dict)
    settings: Dict[str, float] = field(default_factory=dict)

    @property
    def kept(self) -> int:
        return sum(c.kept for c in self.counts.values())

    def to_dict(self) -> Dict[str, object]:
        return {"out": self.out, "kept": self.kept, "settings": self.settings,
                "counts": {k: asdict(v) for k, v in self.counts.items()}}


# -- candidates ---------------------------------------------------------------------------------------

def puj_candidates(root: Path) -> List[FaceCandidate]:
    """Every PUJ image; box = bounding box of the non-background (non-zero) pixels, forehead cut off."""
    import cv2

    out = []
    for subset in ("PUJ_T360", "PUJ_FONE"):
        folder = root / subset
        if not folder.is_dir():
            continue
        for img in sorted(folder.glob("*.tif*")):
            data = cv2.imread(str(img), cv2.IMREAD_UNCHANGED)
            if data is None or data.ndim != 2:
                print(f"{img}: unreadable or not a grey image, skipped", file=sys.stderr)
                continue
            fg = cv2.morphologyEx((data > 0).astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
            ys, xs = np.nonzero(fg)
            if len(xs) < 100:
                print(f"{img}: no face pixels (all background), skipped", file=sys.stderr)
                continue
            subject = img.name.split("__")[-1].split("_")[0]
            top = ys.min() + PUJ_FOREHEAD_CUT * (ys.max() + 1.0 - ys.min())
            out.append(FaceCandidate(img, np.array([xs.min(), top, xs.max() + 1.0, ys.max() + 1.0]),
                                     subset.lower(), f"puj_lwir_faces/{subset}", PUJ_TERMS, subject, img.stem,
                                     ignore_value=0.0))
    return out


def chips_candidates(root: Path, min_face_px: float = MIN_FACE_PX) -> Tuple[List[FaceCandidate], int]:
    """(Chips faces with a box of at least ``min_face_px``, number of smaller faces left out)."""
    from training.data.loaders import load_yolo_boxes

    out, small, seen = [], 0, {}
    for rec in load_yolo_boxes(root):
        k = seen.get(rec.image_path, 0)
        seen[rec.image_path] = k + 1
        box = np.asarray(rec.box, np.float64)
        if max(box[2] - box[0], box[3] - box[1]) < min_face_px:
            small += 1
            continue
        stem = rec.image_path.stem
        out.append(FaceCandidate(rec.image_path, box, "chips", "chips_thermal_face", CHIPS_TERMS,
                                 stem.split("_")[0], f"{stem}_f{k}"))
    return out, small


# -- labelling ----------------------------------------------------------------------------------------

def label_face(mesh, data: np.ndarray, cand: FaceCandidate, min_confidence: float = MIN_CONFIDENCE,
               max_flip_nme: float = MAX_FLIP_NME) -> PseudoLabel:
    """MediaPipe on the face and on its mirror image -> mean points, agreement weights, keep or not."""
    from training.baselines.mediapipe_mesh import grey_for_mesh

    grey = grey_for_mesh(data, cand.box, cand.ignore_value)
    res = mesh.run(grey, cand.box, refine=True, flip_check=True)
    a, b = res.points70, res.flip_points70
    iod = float(np.linalg.norm(a[36] - a[45]))
    both = np.isfinite(a).all(1) & np.isfinite(b).all(1)
    pts = np.where(both[:, None], (a + b) / 2.0, np.nan)
    d = np.linalg.norm(a - b, axis=1)
    scale = max(iod, 1.0)
    weights = np.where(both, np.exp(-0.5 * (np.nan_to_num(d, nan=1e9) / (FLIP_SIGMA * scale)) ** 2), 0.0)
    h, w = data.shape[:2]
    outside = both & ((pts[:, 0] < -0.25 * w) | (pts[:, 0] > 1.25 * w) | (pts[:, 1] < -0.25 * h)
                      | (pts[:, 1] > 1.25 * h))
    pts[outside] = np.nan
    weights[outside] = 0.0
    flip_nme = float(np.nanmean(d[:68]) / scale)
    conf = float(min(res.face_score, res.flip_face_score))
    kept = conf >= min_confidence and flip_nme <= max_flip_nme
    return PseudoLabel(pts, weights.astype(np.float64), res.face_score, conf, flip_nme, kept)


def _label_doc(cand: FaceCandidate, lab: PseudoLabel, image_size: Tuple[int, int], data_root: Path) -> dict:
    from training.baselines.mediapipe_mesh import TERMS

    w, h = image_size
    box = [max(float(cand.box[0]), 0.0), max(float(cand.box[1]), 0.0), min(float(cand.box[2]), float(w)),
           min(float(cand.box[3]), float(h))]
    try:
        rel = str(cand.image_path.resolve().relative_to(data_root.resolve()))
    except ValueError:
        rel = str(cand.image_path)
    return {
        "landmarks": [None if not np.isfinite(p).all() else [round(float(p[0]), 2), round(float(p[1]), 2)]
                      for p in lab.points],
        "visible": [round(float(v), 4) for v in lab.weights],
        "box": [round(v, 2) for v in box],
        "scheme": "ibug70",
        "confidence": round(lab.confidence, 4),
        "face_score": round(lab.face_score, 4),
        "flip_nme": round(lab.flip_nme, 4),
        "source": cand.source,
        "source_file": rel,
        "subject": cand.subject,
        "terms": cand.terms,
        "labeller": "pseudo-label: " + TERMS + "; 468->ibug70 map training/baselines/mesh_map.py",
    }


def run(data_root: Path, out: Path, sources: Sequence[str] = SOURCE_NAMES, min_face_px: float = MIN_FACE_PX,
        min_confidence: float = MIN_CONFIDENCE, max_flip_nme: float = MAX_FLIP_NME, limit: int = 0,
        threads: int = 1) -> PseudoLabelSummary:
    """Label every candidate face of ``sources`` and write the kept ones under ``out``."""
    from training.baselines.mediapipe_mesh import FaceMesh
    from training.data.records import FaceRecord, ThermalDecoding, load_thermal

    data_root, out = Path(data_root), Path(out)
    summary = PseudoLabelSummary(out=str(out), settings={
        "min_face_px": min_face_px, "min_confidence": min_confidence, "max_flip_nme": max_flip_nme,
        "flip_sigma": FLIP_SIGMA, "limit_per_source": limit})
    cands: List[FaceCandidate] = []
    small: Dict[str, int] = {}
    for name in sources:
        if name == "puj":
            found = puj_candidates(data_root / "puj_lwir_faces")
        elif name == "chips":
            root = data_root / "chips_thermal_face"
            found, small["chips"] = chips_candidates(root, min_face_px) if root.is_dir() else ([], 0)
        else:
            raise ValueError(f"unknown pseudo-label source {name!r}; known: {', '.join(SOURCE_NAMES)}")
        if not found:
            print(f"{name}: no faces found under {data_root}", file=sys.stderr)
        cands.extend(found[:limit] if limit else found)
    mesh = FaceMesh(threads=threads, iris=True)
    for folder, n in small.items():
        summary.counts.setdefault(folder, SourceCount()).too_small += n
    for cand in cands:
        count = summary.counts.setdefault(cand.folder, SourceCount())
        count.candidates += 1
        data, _ = load_thermal(FaceRecord(cand.image_path, np.zeros((0, 2)), "box_only", ThermalDecoding("intensity")))
        lab = label_face(mesh, data, cand, min_confidence, max_flip_nme)
        if not lab.kept:
            if lab.confidence < min_confidence:
                count.low_face_flag += 1
            else:
                count.flip_disagree += 1
            continue
        count.kept += 1
        dst = out / cand.folder
        dst.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cand.image_path, dst / f"{cand.out_stem}{cand.image_path.suffix}")
        doc = _label_doc(cand, lab, (data.shape[1], data.shape[0]), data_root)
        (dst / f"{cand.out_stem}.json").write_text(json.dumps(doc) + "\n", encoding="utf-8")
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary.to_dict(), indent=1) + "\n", encoding="utf-8")
    return summary


# -- command line -------------------------------------------------------------------------------------

def _cmd(args: argparse.Namespace) -> int:
    from training.baselines.mediapipe_mesh import unavailable_reason

    reason = unavailable_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    if not args.data.is_dir():
        print(f"{args.data}: real thermal data folder not found; pass --data", file=sys.stderr)
        return 2
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    bad = [s for s in sources if s not in SOURCE_NAMES]
    if bad:
        print(f"--sources: unknown {', '.join(bad)}; known: {', '.join(SOURCE_NAMES)}", file=sys.stderr)
        return 2
    summary = run(args.data, args.out, sources, args.min_face_px, args.min_confidence, args.max_flip_nme,
                  args.limit, args.threads)
    for folder, c in summary.counts.items():
        print(f"{folder:9s} candidates {c.candidates:4d}  kept {c.kept:4d}  low face flag {c.low_face_flag:4d}  "
              f"mirror disagreement {c.flip_disagree:4d}  too small {c.too_small:4d}")
    print(f"kept {summary.kept} faces -> {args.out} (load_generic(DIR, split=<folder>, scheme='ibug70'))")
    return 0


def register(sub) -> None:
    p = sub.add_parser("pseudolabel", help="MediaPipe pseudo-labels for the real unlabelled thermal faces")
    p.add_argument("--out", type=Path, required=True, help="output dataset folder (outside the repository)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="real_thermal folder of ../shared/data")
    p.add_argument("--sources", default=",".join(SOURCE_NAMES), help="comma-separated: puj, chips")
    p.add_argument("--min-face-px", type=float, default=MIN_FACE_PX, help="smallest Chips face box side")
    p.add_argument("--min-confidence", type=float, default=MIN_CONFIDENCE, help="face flag of both passes")
    p.add_argument("--max-flip-nme", type=float, default=MAX_FLIP_NME,
                   help="largest crop-vs-mirror disagreement (outer-eye-corner distances)")
    p.add_argument("--limit", type=int, default=0, help="first N faces of each source (0: all)")
    p.add_argument("--threads", type=int, default=1, help="LiteRT threads")
    p.set_defaults(func=_cmd)
