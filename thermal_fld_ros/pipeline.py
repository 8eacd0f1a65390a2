"""The runtime pipeline: thermal frame -> faces with landmarks, scores, track ids and head pose.

Plain Python, shared by the ROS node, the CLI and the tests. ``process`` never raises for what is in a
frame (no face, constant, NaN, a face cut by the border): it returns a FrameResult with ``warnings``.
Problems with the model raise at construction, naming the file and the problem.
"""
from __future__ import annotations

import logging
import time
from typing import List, Optional

import numpy as np

from .config import PipelineConfig
from .crop import invert, transform_points, warp
from .detector import make_detector
from .frames import FrameError, ThermalFrame, from_array
from .landmark_model import LandmarkModel, ModelError
from .model_meta import LandmarkModelMeta
from .normalise import KIND_TEMPERATURE, normalise, percentile_window
from .pose import approximate_intrinsics, estimate_pose
from .schemes import get_scheme
from .smoothing import OneEuroFilter
from .tracker import Track, TrackSet
from .types import Face, FrameResult

log = logging.getLogger(__name__)
SKIN_MAX_C = 38.0  # warmest facial skin: caps the detector's window on radiometric frames

__all__ = ["Pipeline", "ModelError", "FrameError"]


class Pipeline:
    """Stateful per-stream pipeline (tracks, filters); one instance per camera."""

    def __init__(self, cfg: Optional[PipelineConfig] = None):
        self.cfg = cfg or PipelineConfig()
        self.cfg.validate()
        self.frame_cfg = self.cfg.frame_config()
        self._norm_cfg = self.frame_cfg.normalise_config()
        # Never publish from an untrained network: models not marked trained are refused here.
        self.model = LandmarkModel(self.cfg.resolved_model_path(), self.cfg.providers, self.cfg.intra_op_threads)
        self.detector = make_detector(self.cfg.detector, self.cfg.min_face_px)
        self.scheme = get_scheme(self.meta.scheme)
        self.startup_warnings: List[str] = list(self.model.warnings)
        self._mean_face = self._load_mean_face()
        self._eye_pair = self.scheme.normaliser if self.scheme.num_points == self.meta.num_points else None
        self._K: Optional[np.ndarray] = None
        self._dist: Optional[np.ndarray] = None
        self._warned_intrinsics = False
        self.tracks = TrackSet()
        self.reset()

    # ------------------------------------------------------------------ public API
    @property
    def meta(self) -> LandmarkModelMeta:
        return self.model.meta

    def set_camera_intrinsics(self, K: np.ndarray, dist: Optional[np.ndarray] = None) -> None:
        """Camera matrix (3, 3) and distortion (plumb_bob k1 k2 p1 p2 k3) from camera_info."""
        k = np.asarray(K, np.float64).reshape(3, 3)
        if not np.isfinite(k).all() or k[0, 0] <= 0 or k[1, 1] <= 0:
            raise ValueError(f"invalid camera matrix {k.tolist()}")
        self._K = k
        self._dist = None if dist is None or len(dist) == 0 else np.asarray(dist, np.float64).ravel()
        self._last_pose = {}

    def reset(self) -> None:
        """Forget tracks and filters (a new stream, or a jump back in time)."""
        self.tracks.reset()
        self._frame_index = 0
        self._last_detection = -10 ** 9
        self._redetect = True
        self._last_stamp: Optional[float] = None
        self._last_pose: dict = {}  # track id -> last HeadPose (seeds solvePnP)

    def process_array(self, array: np.ndarray, encoding: str, stamp_s: float) -> FrameResult:
        """Like :meth:`process` for a raw array; an unusable frame gives an empty result with a warning."""
        try:
            frame = from_array(array, encoding, self.frame_cfg)
        except FrameError as exc:
            shape = getattr(array, "shape", (0, 0))
            h, w = (shape[0], shape[1]) if len(shape) >= 2 else (0, 0)
            return FrameResult(faces=[], width=int(w), height=int(h), warnings=[f"bad frame: {exc}"])
        return self.process(frame, stamp_s)

    def process(self, frame: ThermalFrame, stamp_s: float) -> FrameResult:
        t0 = time.perf_counter()
        data = np.asarray(frame.data)
        h, w = (int(data.shape[0]), int(data.shape[1])) if data.ndim >= 2 else (0, 0)
        result = FrameResult(faces=[], width=w, height=h)
        if data.ndim != 2 or h == 0 or w == 0:
            result.warnings.append(f"bad frame: expected a non-empty (H, W) array, got shape {data.shape}")
            return result
        if h * w > self.frame_cfg.max_pixels:
            result.warnings.append(f"bad frame: {w}x{h} exceeds max_pixels {self.frame_cfg.max_pixels}")
            return result
        finite = np.isfinite(data)
        if not finite.all():
            if not finite.any():
                result.warnings.append("bad frame: all pixels are NaN/inf")
                return result
            result.warnings.append(f"{int((~finite).sum())} non-finite pixels treated as coldest")
        stamp_s = float(stamp_s)
        if self._last_stamp is not None and stamp_s <= self._last_stamp:
            result.warnings.append(f"stamp {stamp_s:.6f} is not after the previous {self._last_stamp:.6f}: "
                                   f"tracks reset")
            self.reset()
        self._last_stamp = stamp_s

        try:
            frame01 = normalise(data, frame.kind, self._norm_cfg)
        except ValueError as exc:
            result.warnings.append(f"bad frame: {exc}")
            return result
        t1 = time.perf_counter()
        result.timings_ms["normalise"] = (t1 - t0) * 1e3
        if float(frame01.max()) - float(frame01.min()) < 1e-3:
            result.warnings.append("constant frame: no face")
            self.tracks.tracks = []  # ids keep counting: a face after a blank frame is a new track
            self._frame_index += 1
            return result

        cfg = self.cfg
        new_tracks: List[Track] = []
        if (not self.tracks.tracks or self._redetect
                or self._frame_index - self._last_detection >= cfg.detection_interval):
            try:
                det_frame = self._detector_frame(data, frame.kind, frame01)
                dets = [d for d in self.detector.detect(det_frame, cfg.max_faces)
                        if d.score >= cfg.detection_threshold]
            except Exception as exc:  # a safety net: one odd frame must not stop a stream
                log.exception("face detector failed")
                result.warnings.append(f"face detector failed on this frame: {exc!r}")
                dets = []
            new_tracks = self.tracks.add_detections(dets, cfg.track_iou_threshold, cfg.max_faces)
            self._last_detection = self._frame_index
            self._redetect = False
            result.detector_ran = True
        t2 = time.perf_counter()
        result.timings_ms["detect"] = (t2 - t1) * 1e3

        tracks = list(self.tracks.tracks)
        if tracks:
            self._run_landmarks(frame01, tracks, refine=new_tracks)
        t3 = time.perf_counter()
        result.timings_ms["landmarks"] = (t3 - t2) * 1e3

        faces: List[Face] = []
        kept: List[Track] = []
        for t in tracks:
            if t.score < cfg.landmark_threshold:
                t.misses += 1
                self._redetect = True
                if t.misses <= cfg.max_track_misses and t not in new_tracks:
                    kept.append(t)
                continue
            t.misses = 0
            if t.score < cfg.redetect_threshold:
                self._redetect = True
            kept.append(t)
            faces.append(self._face(t, stamp_s))
        self.tracks.tracks = kept
        self.tracks.remove_duplicates()
        alive = {t.track_id for t in self.tracks.tracks}
        faces = [f for f in faces if f.track_id in alive]
        t4 = time.perf_counter()

        if cfg.pose and faces:
            self._add_poses(faces, w, h, result)
        t5 = time.perf_counter()
        result.timings_ms["pose"] = (t5 - t4) * 1e3
        result.faces = faces
        if not faces:
            result.warnings.append("no face")
        self._frame_index += 1
        result.timings_ms["total"] = (time.perf_counter() - t0) * 1e3
        return result

    # ------------------------------------------------------------------ internals
    def _detector_frame(self, data: np.ndarray, kind: str, frame01: np.ndarray) -> np.ndarray:
        """The detector's view: a robust percentile window, as on the AGC frames it was fitted on.

        For temperatures the window's top is capped at 38 °C (skin never exceeds it), so a hot lamp or
        radiator does not squash the faces into the middle of the range.
        """
        if kind != KIND_TEMPERATURE:
            return frame01
        lo, hi = percentile_window(data, self._norm_cfg.percentiles, self._norm_cfg.percentile_subsample)
        hi = max(min(hi, SKIN_MAX_C), lo + 2.0)
        out = (data - np.float32(lo)) * np.float32(1.0 / (hi - lo))
        np.clip(out, 0.0, 1.0, out=out)
        out[~np.isfinite(out)] = 0.0
        return out

    def _run_landmarks(self, frame01: np.ndarray, tracks: List[Track], refine: List[Track]) -> None:
        size = self.model.input_size
        scale = self.meta.crop_scale
        passes = 2 if refine else 1  # a fresh detection box is coarse: re-crop once from its landmarks
        for p in range(passes):
            todo = tracks if p == 0 else refine
            mats = [t.crop(size, scale) for t in todo]
            crops = np.stack([warp(frame01, m, size) for m in mats])
            pts, scores = self.model.predict(crops)
            for t, m, cp, sc in zip(todo, mats, pts, scores):
                img_pts = transform_points(cp, invert(m))
                t.score = float(np.mean(sc))
                t.extras["scores"] = sc
                t.update_from_landmarks(img_pts, self._eye_pair, follow_roll=True)

    def _face(self, t: Track, stamp_s: float) -> Face:
        pts = t.landmarks
        if self.cfg.smoothing:
            if t.filter is None:
                t.filter = OneEuroFilter(self.cfg.smoothing_min_cutoff, self.cfg.smoothing_beta,
                                         self.cfg.smoothing_d_cutoff)
            pts = t.filter(pts, stamp_s)
        t.age_frames += 1
        fin = pts[np.isfinite(pts).all(1)]
        box = np.array([fin[:, 0].min(), fin[:, 1].min(), fin[:, 0].max(), fin[:, 1].max()])
        return Face(track_id=t.track_id, box=box, landmarks=np.asarray(pts, np.float64),
                    scores=np.asarray(t.extras["scores"], np.float64), score=t.score, age_frames=t.age_frames - 1)

    def _load_mean_face(self) -> Optional[np.ndarray]:
        try:
            mf = self.scheme.mean_face_3d()
        except (OSError, ValueError, KeyError) as exc:
            self.startup_warnings.append(f"head pose disabled: no 3D mean face for scheme {self.scheme.name} ({exc})")
            return None
        if len(mf) != self.meta.num_points:
            self.startup_warnings.append("head pose disabled: 3D mean face does not match the model's points")
            return None
        return mf

    def _add_poses(self, faces: List[Face], w: int, h: int, result: FrameResult) -> None:
        if self._mean_face is None:
            return
        if self._K is None:
            K, dist = approximate_intrinsics(w, h), None
            if not self._warned_intrinsics:
                result.warnings.append("no camera_info: head pose uses intrinsics approximated from the image "
                                       "size (57 deg horizontal field of view)")
                self._warned_intrinsics = True
        else:
            K, dist = self._K, self._dist
        poses = {}
        for f in faces:
            f.pose = estimate_pose(f.landmarks, self._mean_face, K, dist, f.scores,
                                   previous=self._last_pose.get(f.track_id))
            if f.pose is not None:
                poses[f.track_id] = f.pose
        self._last_pose = poses
