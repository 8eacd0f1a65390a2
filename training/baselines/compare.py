"""Our student vs MediaPipe's face mesh on the real labelled thermal frames, from the same face boxes.

``python -m training compare-mediapipe [--model PATH] [--data DIR] [--json OUT]``

Why: a robotics user would run MediaPipe on the grey thermal frame unless our student beats it; the
comparison is only fair when both start from the same box. For each box (the annotated face box of
``bounding_box.json``, and the box of the ground-truth landmarks) the student runs through the
runtime's crop path (``Track`` crop at the model's ``crop_scale``, ``LandmarkModel``, one re-crop
from its own points as the pipeline does for a fresh detection) on the runtime's normalised frame;
MediaPipe gets the same box, the frame contrast-stretched over the box as grey RGB, and one re-crop.

Figures (``faiyaz106_thermal54``, SF-TL54 scheme, 2 radiometric frames of one subject):

- 5-point NME: eye centres (mean of each eye's 6 contour points, for prediction and ground truth
  alike), nose tip, mouth corners; normalised by the eye-centre distance (TFW convention).
- full NME: every point the model's scheme shares with SF-TL54 (54 for ibug70), normalised by the
  outer eye corners (36, 45), as ``python -m training report`` does.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

DEFAULT_DATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real_thermal"
                / "faiyaz106_thermal54").resolve()
BOX_KINDS = ("annotated", "landmarks")  # bounding_box.json / box of the ground-truth points
FIVE_POINTS = ("right_eye_centre", "left_eye_centre", "nose_tip", "mouth_right_corner", "mouth_left_corner")


@dataclass(frozen=True)
class FrameScore:
    """One frame, one box: both models' NMEs and confidences."""

    frame: str
    box_kind: str
    box: Tuple[float, float, float, float]
    student_nme5: float
    mesh_nme5: float
    student_nme: float
    mesh_nme: float
    student_score: float  # mean per-point score of the student (runtime's face confidence)
    mesh_face_score: float  # MediaPipe's face flag


@dataclass(frozen=True)
class BoxSummary:
    """Means over the frames for one box kind; ``margin`` > 0 means the student is better."""

    box_kind: str
    frames: int
    student_nme5: float
    mesh_nme5: float
    student_nme: float
    mesh_nme: float

    @property
    def margin_nme5(self) -> float:
        return self.mesh_nme5 - self.student_nme5

    @property
    def margin_nme(self) -> float:
        return self.mesh_nme - self.student_nme


@dataclass(frozen=True)
class MediaPipeComparison:
    """Student vs MediaPipe on the same boxes of the real labelled frames (see the module docstring)."""

    model: str
    data: str
    shared_points: int
    frames: Tuple[FrameScore, ...]
    summaries: Tuple[BoxSummary, ...]
    five_points: Tuple[str, ...] = FIVE_POINTS
    normaliser_5: str = "eye-centre distance (centres = mean of each eye's 6 contour points)"
    normaliser_full: str = "outer eye corners (iBUG 36, 45)"

    def summary(self, box_kind: str) -> BoxSummary:
        return next(s for s in self.summaries if s.box_kind == box_kind)

    def to_dict(self) -> dict:
        doc = asdict(self)
        doc["summaries"] = [{**asdict(s), "margin_nme5": s.margin_nme5, "margin_nme": s.margin_nme}
                            for s in self.summaries]
        return doc


# -- scoring ------------------------------------------------------------------------------------------

def five_points_ibug68(pts68: np.ndarray) -> np.ndarray:
    """(>=68, 2) iBUG-ordered points -> (5, 2): eye centres, nose tip (30), mouth corners (48, 54)."""
    p = np.asarray(pts68, np.float64)
    return np.stack([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])


def nme(pred: np.ndarray, gt: np.ndarray, normaliser: Tuple[int, int]) -> float:
    """Mean point error / distance between the two ``normaliser`` ground-truth points."""
    d = float(np.linalg.norm(gt[normaliser[0]] - gt[normaliser[1]]))
    ok = np.isfinite(pred).all(1) & np.isfinite(gt).all(1)
    if d < 1e-6 or not ok.any():
        return float("nan")
    return float(np.linalg.norm(pred[ok] - gt[ok], axis=1).mean() / d)


# -- the two models on one box ------------------------------------------------------------------------

def student_on_box(model, frame01: np.ndarray, box: np.ndarray, eye_pair: Optional[Tuple[int, int]]):
    """(points (N, 2) image px, mean score) through the runtime's crop path: box crop, then a re-crop."""
    from thermal_fld_ros.crop import invert, transform_points, warp
    from thermal_fld_ros.tracker import Track

    track = Track(track_id=0, box=np.asarray(box, np.float64))
    size, scale = model.input_size, model.meta.crop_scale
    for _ in range(2):  # as Pipeline._run_landmarks does for a fresh detection box
        m = track.crop(size, scale)
        pts, scores = model.predict(warp(frame01, m, size)[None])
        img_pts = transform_points(pts[0], invert(m))
        track.update_from_landmarks(img_pts, eye_pair, follow_roll=True)
    return img_pts, float(np.mean(scores[0]))


def compare_on_real_frames(model_path: Path, data: Path = DEFAULT_DATA, mesh=None) -> MediaPipeComparison:
    """Score the student ONNX model and MediaPipe on every frame and box kind of ``data``."""
    from thermal_fld_ros.config import PipelineConfig
    from thermal_fld_ros.crop import landmarks_box
    from thermal_fld_ros.landmark_model import LandmarkModel
    from thermal_fld_ros.normalise import normalise
    from thermal_fld_ros.schemes import IBUG70, SFTL54, common_indices, get_scheme, map_points
    from training.data.loaders import load_dataset
    from training.data.records import load_thermal

    from .mediapipe_mesh import FaceMesh, grey_for_mesh

    model = LandmarkModel(model_path, flip_test=PipelineConfig().flip_test)  # as the runtime runs it
    scheme = get_scheme(model.meta.scheme)
    eye_pair = scheme.normaliser if scheme.num_points == model.meta.num_points else None
    ia, _ = common_indices(SFTL54, scheme)
    norm_cfg = PipelineConfig().frame_config().normalise_config()
    mesh = mesh or FaceMesh(threads=1, iris=False)
    records = load_dataset("sftl54", Path(data))
    frames: List[FrameScore] = []
    for rec in records:
        data_c, kind = load_thermal(rec)
        frame01 = normalise(data_c, kind, norm_cfg)
        gt54 = np.asarray(rec.landmarks, np.float64)
        gt68 = map_points(gt54, SFTL54, get_scheme("ibug68"))
        counted = np.zeros(SFTL54.num_points, bool)
        counted[ia] = True
        boxes = {"landmarks": landmarks_box(gt54)}
        if rec.box is not None:
            boxes["annotated"] = np.asarray(rec.box, np.float64)
        for kind_name in BOX_KINDS:
            if kind_name not in boxes:
                continue
            box = boxes[kind_name]
            s_pts, s_score = student_on_box(model, frame01, box, eye_pair)
            s70 = map_points(s_pts, scheme, IBUG70)
            res = mesh.run(grey_for_mesh(data_c, box), box, refine=True)
            m70 = res.points70
            s54 = np.where(counted[:, None], map_points(s70, IBUG70, SFTL54), np.nan)
            m54 = np.where(counted[:, None], map_points(m70, IBUG70, SFTL54), np.nan)
            gt5 = five_points_ibug68(gt68)
            frames.append(FrameScore(
                frame=rec.image_path.stem, box_kind=kind_name, box=tuple(round(float(v), 1) for v in box),
                student_nme5=nme(five_points_ibug68(s70), gt5, (0, 1)),
                mesh_nme5=nme(five_points_ibug68(m70), gt5, (0, 1)),
                student_nme=nme(s54, gt54, SFTL54.normaliser), mesh_nme=nme(m54, gt54, SFTL54.normaliser),
                student_score=s_score, mesh_face_score=res.face_score))
    summaries = []
    for kind_name in BOX_KINDS:
        rows = [f for f in frames if f.box_kind == kind_name]
        if rows:
            summaries.append(BoxSummary(kind_name, len(rows), *[float(np.nanmean([getattr(r, k) for r in rows]))
                                                               for k in ("student_nme5", "mesh_nme5",
                                                                         "student_nme", "mesh_nme")]))
    return MediaPipeComparison(model=str(model_path), data=str(data), shared_points=len(ia), frames=tuple(frames),
                               summaries=tuple(summaries))


# -- command line -------------------------------------------------------------------------------------

def render(cmp: MediaPipeComparison) -> str:
    lines = [f"student {cmp.model} vs MediaPipe face mesh, same boxes, {cmp.data}",
             f"5-point NME by {cmp.normaliser_5}; full NME on {cmp.shared_points} shared points by "
             f"{cmp.normaliser_full}",
             f"{'frame':10s} {'box':9s} {'student 5pt':>11s} {'mesh 5pt':>9s} {'student':>8s} {'mesh':>7s} "
             f"{'face flag':>9s}"]
    for f in cmp.frames:
        lines.append(f"{f.frame:10s} {f.box_kind:9s} {f.student_nme5:11.4f} {f.mesh_nme5:9.4f} "
                     f"{f.student_nme:8.4f} {f.mesh_nme:7.4f} {f.mesh_face_score:9.3f}")
    for s in cmp.summaries:
        lines.append(f"mean, {s.box_kind} box: student 5pt {s.student_nme5:.4f} vs mesh {s.mesh_nme5:.4f} "
                     f"(student better by {s.margin_nme5:+.4f}); full {s.student_nme:.4f} vs {s.mesh_nme:.4f} "
                     f"({s.margin_nme:+.4f})")
    return "\n".join(lines)


def _cmd(args: argparse.Namespace) -> int:
    from thermal_fld_ros.config import PipelineConfig
    from thermal_fld_ros.landmark_model import ModelError

    from .mediapipe_mesh import unavailable_reason

    reason = unavailable_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    if not args.data.is_dir():
        print(f"{args.data}: labelled real thermal frames not found; pass --data", file=sys.stderr)
        return 2
    model = args.model or Path(PipelineConfig().resolved_model_path())
    try:
        cmp = compare_on_real_frames(model, args.data)
    except ModelError as exc:
        print(f"compare-mediapipe: {exc}", file=sys.stderr)
        return 2
    print(render(cmp))
    if args.json is not None:
        args.json.write_text(json.dumps(cmp.to_dict(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("compare-mediapipe", help="student vs MediaPipe's face mesh on the real labelled frames")
    p.add_argument("--model", type=Path, default=None, help="student ONNX model (default: the bundled one)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="faiyaz106_thermal54 folder")
    p.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    p.set_defaults(func=_cmd)
