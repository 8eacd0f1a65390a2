"""The runtime pipeline: thermal frame -> faces with landmarks, scores, track ids and head pose.

Plain Python, shared by the ROS node, the CLI and the tests. ``process`` never raises for what is in a
frame (no face, constant, NaN, a face cut by the border, a stamp out of order): it returns a FrameResult
whose ``status`` and typed ``issues`` say what happened. The stamp policy lives here only: a stamp not
after the previous one is dropped, a jump back of more than ``STAMP_JUMP_RESET_S`` starts a new stream.
Problems with the model raise at construction, naming the file and the problem.
"""
from __future__ import annotations

import logging
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

from .appearance import similarity, thumbnail
from .camera_model import Calibration, CameraInfoError, approximate_intrinsics, intrinsics_for
from .config import PipelineConfig
from .crop import invert, transform_points, warp
from .detector import Detection, detector_from_config, min_score
from .frames import ThermalFrame, from_array
from .ingest import FrameError, check_values
from .landmark_model import LandmarkModel, ModelError
from .model_meta import LandmarkModelMeta
from .normalise import KIND_TEMPERATURE, NormaliseConfig, normalise, percentile_window
from .pose import estimate_pose
from .schemes import get_scheme
from .smoothing import OneEuroFilter
from .thermometry import ThermalReadout
from .tracker import Fit, Track, TrackSet
from .types import Face, FrameResult, Issue, Reason

log = logging.getLogger(__name__)
SKIN_MAX_C = 38.0  # warmest facial skin: caps the detector's window on radiometric frames
STAMP_JUMP_RESET_S = 2.0  # a stamp this far back is a new stream (bag loop, player restart): reset tracks

__all__ = ["Pipeline", "ModelError", "FrameError", "detector_frame"]


class Pipeline:
    """Stateful per-stream pipeline (tracks, filters); one instance per camera."""

    def __init__(self, cfg: Optional[PipelineConfig] = None):
        self.cfg = cfg or PipelineConfig()
        self.cfg.validate()
        self.frame_cfg = self.cfg.frame_config()
        self._norm_cfg = self.frame_cfg.normalise_config()
        # Never publish from an untrained network: models not marked trained are refused here.
        self.model = LandmarkModel(self.cfg.resolved_model_path(), self.cfg.providers, self.cfg.intra_op_threads,
                                   flip_test=self.cfg.flip_test)
        self.detector = detector_from_config(self.cfg)
        self._min_score = min_score(self.detector, self.cfg.detection_threshold)
        self._rules = self.cfg.track_rules()
        self.scheme = get_scheme(self.meta.scheme)
        self.startup_warnings: List[str] = list(self.model.warnings)
        self._mean_face = self._load_mean_face()
        self._eye_pair = self.scheme.normaliser if self.scheme.num_points == self.meta.num_points else None
        self._calibration: Optional[Calibration] = None
        self._intrinsics_key: Optional[tuple] = None
        self._intrinsics: Tuple[np.ndarray, Optional[np.ndarray]] = (np.eye(3), None)
        self.intrinsics_source = "approximated"  # or 'camera_info' / 'camera_info (scaled)' (diagnostics)
        self.tracks = TrackSet()
        self.thermal = ThermalReadout(self.scheme, self.frame_cfg, self.cfg.thermometry_min_pixels,
                                      self.cfg.breathing_config()) if self.cfg.thermometry else None
        self.reset()

    # ------------------------------------------------------------------ public API
    @property
    def meta(self) -> LandmarkModelMeta:
        return self.model.meta

    def set_calibration(self, cal: Optional[Calibration]) -> None:
        """Use a checked calibration (camera_info) for head pose; None = approximate from the image size.

        How it fits the image size (scaled, or ignored with a note) is decided at the next frame with faces.
        """
        self._calibration = cal
        self._intrinsics_key = None
        self._last_pose = {}

    def intrinsics(self, width: int, height: int) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """(K, D or None) head pose uses for images of this size."""
        self._resolve_intrinsics(width, height)
        return self._intrinsics

    def reset(self) -> None:
        """Forget tracks and filters (a new stream, or a jump back in time)."""
        self.tracks.reset()
        self._frame_index = 0
        self._last_detection = -10 ** 9
        self._redetect = True
        self._deferred: Optional[Tuple[np.ndarray, str, np.ndarray]] = None  # (data, kind, frame01) to detect on
        self._may_defer = False
        self._restart_next: List[Track] = []  # tracks the deferred detection started or re-seated
        self._last_stamp: Optional[float] = None
        self._last_pose: dict = {}  # track id -> last HeadPose (seeds solvePnP)
        if getattr(self, "thermal", None) is not None:
            self.thermal.reset()

    def process_array(self, array: np.ndarray, encoding: str, stamp_s: float) -> FrameResult:
        """Like :meth:`process` for a raw array; an unusable frame gives a REFUSED result with its reason."""
        try:
            frame = from_array(array, encoding, self.frame_cfg)
        except FrameError as exc:
            shape = getattr(array, "shape", (0, 0))
            h, w = (shape[0], shape[1]) if len(shape) >= 2 else (0, 0)
            return FrameResult(faces=[], width=int(w), height=int(h), issues=[exc.issue()])
        return self.process(frame, stamp_s)

    def process(self, frame: ThermalFrame, stamp_s: float, defer_detection: bool = False) -> FrameResult:
        """Faces of one frame; never raises for its content (see ``FrameResult.status`` and ``issues``).

        ``defer_detection``: a detector run due only by ``detection_interval`` (every track followed well) is
        not run here but kept for :meth:`run_deferred_detection`, which the caller runs after it has
        published this result; its tracks and detections take effect from the next frame. A node's image ->
        landmarks latency then never includes the periodic check (see docs/runtime.md). Detector runs that
        a face needs now (no track, a track lost or unsure) always run inline.
        """
        pending_issues = self.run_deferred_detection()  # deferred on the last frame and not run by the caller
        self._may_defer = defer_detection
        t0 = time.perf_counter()
        data = np.asarray(frame.data)
        h, w = (int(data.shape[0]), int(data.shape[1])) if data.ndim >= 2 else (0, 0)
        result = FrameResult(faces=[], width=w, height=h, issues=pending_issues)
        try:
            result.issues.extend(check_values(data, frame.kind, frame.encoding, self.frame_cfg.max_pixels))
        except FrameError as exc:
            result.issues.append(exc.issue())
            return result
        stamp_issue = self._check_stamp(float(stamp_s))
        if stamp_issue is not None:
            result.issues.append(stamp_issue)
            if stamp_issue.refused:
                return result

        frame01 = normalise(data, frame.kind, self._norm_cfg)
        t1 = time.perf_counter()
        result.timings_ms["normalise"] = (t1 - t0) * 1e3
        if float(frame01.max()) - float(frame01.min()) < 1e-3:
            result.issues.append(Issue(Reason.CONSTANT, f"constant {frame.encoding} frame (no contrast): no face "
                                       f"can be found"))
            self.tracks.tracks = []  # ids keep counting: a face after a blank frame is a new track
            self._frame_index += 1
            return result

        cfg = self.cfg
        shown, lost, spare = self._track(data, frame.kind, frame01, result, detect=False)
        if cfg.redetect_same_frame and lost and not result.detector_ran:
            # a track lost between detector runs: detect on this frame now rather than publish nothing for
            # that face until the next one (Chips sequences, frames seconds apart: see docs/runtime.md); a
            # detection where a dropped track was keeps its id
            shown, more_lost, spare = self._track(data, frame.kind, frame01, result, detect=True, heirs=lost)
            lost = lost + more_lost
        alive = {id(t) for t in self.tracks.tracks}
        if cfg.redetect_same_frame and spare and any(id(t) not in alive for t in lost):
            # tracks dropped after this frame's detections confirmed them (presence, size): those detections
            # start tracks now (with the dropped ones' ids), not at the next detector run
            more, _, _ = self._track(data, frame.kind, frame01, result, detect=False, heirs=lost, dets=spare)
            shown = shown + more
        if result.detector_ran:
            self._deferred = None  # detected inline after all (a track was lost): nothing left to do
            result.detection_deferred = False
        faces = [self._face(t, stamp_s) for t in shown]
        t4 = time.perf_counter()

        if cfg.pose and faces:
            self._add_poses(faces, w, h, result)
        t5 = time.perf_counter()
        result.timings_ms["pose"] = (t5 - t4) * 1e3
        if self.thermal is not None:
            self.thermal.annotate(faces, frame, stamp_s)
            result.timings_ms["thermometry"] = (time.perf_counter() - t5) * 1e3
        result.faces = faces
        self._frame_index += 1
        result.timings_ms["total"] = (time.perf_counter() - t0) * 1e3
        return result

    def run_deferred_detection(self) -> List[Issue]:
        """The detector run :meth:`process` deferred on the last frame, if any: it confirms, re-seats and
        starts tracks as an inline run would, and the tracks it starts or re-seats are fitted on the next
        frame. Returns the issues of that run (a detector failure)."""
        if self._deferred is None:
            return []
        data, kind, frame01 = self._deferred
        self._deferred = None
        issues: List[Issue] = []
        reseated, new_tracks = self._apply_detections(self._detect(data, kind, frame01, issues))
        self._restart_next = new_tracks + reseated
        self._keep_thumbnails(frame01, self._restart_next)  # their new box, on the frame the run saw
        self._last_detection = self._frame_index - 1  # the frame it ran on
        return issues

    # ------------------------------------------------------------------ internals
    def _apply_detections(self, found: List[Detection], changed: Tuple[Track, ...] = ()
                          ) -> Tuple[List[Track], List[Track]]:
        """A detector run's faces against the tracks: every track checked (confirmed, re-seated or dropped),
        new tracks for faces on none (a ``changed`` track the run does not confirm is dropped first:
        TrackSet.confirm). Returns (re-seated tracks, new tracks)."""
        cfg = self.cfg
        reseated = self.tracks.confirm(found, cfg.track_iou_threshold, self._rules, changed)
        return reseated, self.tracks.add_detections(found, cfg.track_iou_threshold, cfg.max_faces)

    def _changed_tracks(self, frame01: np.ndarray) -> Tuple[Track, ...]:
        """Tracks whose box content correlates under ``appearance_threshold`` with the last frame's."""
        thr = self.cfg.appearance_threshold
        if thr <= 0:
            return ()
        return tuple(t for t in self.tracks.tracks
                     if t.thumbnail is not None and similarity(t.thumbnail, thumbnail(frame01, t.box)) < thr)

    def _keep_thumbnails(self, frame01: np.ndarray, tracks: List[Track]) -> None:
        """What the next frame's boxes are compared with (only while the appearance check is on)."""
        if self.cfg.appearance_threshold > 0:
            for t in tracks:
                t.thumbnail = thumbnail(frame01, t.box)

    def _detect(self, data: np.ndarray, kind: str, frame01: np.ndarray, issues: List[Issue]) -> List[Detection]:
        """This frame's detections at or above the detector's minimum score (``detection_threshold``, or the
        cascade's own two); a detector failure is an issue, no faces."""
        try:
            det_frame = self._detector_frame(data, kind, frame01)
            return [d for d in self.detector.detect(det_frame, self.cfg.max_faces) if d.score >= self._min_score]
        except Exception as exc:  # a safety net: one odd frame must not stop a stream
            log.exception("face detector failed")
            issues.append(Issue(Reason.DETECTOR_FAILED, f"face detector failed on this frame: "
                                f"{type(exc).__name__}: {exc}"))
            return []

    def _track(self, data: np.ndarray, kind: str, frame01: np.ndarray, result: FrameResult, detect: bool,
               heirs: Optional[List[Track]] = None, dets: Optional[List[Detection]] = None,
               ) -> Tuple[List[Track], List[Track], List[Detection]]:
        """One tracking step on this frame (the detector when due, or when ``detect``).

        Returns the tracks to show, the tracks lost or missed on it, and the detections that started no
        track (they confirmed one). New tracks on a detection where one of ``heirs`` was take its id; with
        ``dets`` (this frame's spare detections) the step only starts tracks from them and fits those.
        """
        cfg = self.cfg
        new_tracks: List[Track] = []
        reseated: List[Track] = []
        spare: List[Detection] = []
        dropped: List[Track] = []  # dropped by this step's detector run
        t1 = time.perf_counter()
        needed = detect or not self.tracks.tracks or self._redetect
        changed = self._changed_tracks(frame01) if dets is None and not needed else ()
        needed = needed or bool(changed)  # a face left its box: find it (or drop the track) on this frame
        if dets is not None:
            new_tracks = self.tracks.add_detections(dets, cfg.track_iou_threshold, cfg.max_faces)
            self.tracks.inherit_ids(new_tracks, heirs or [], cfg.track_iou_threshold, self._rules.reach)
        elif not needed and self._frame_index - self._last_detection >= cfg.detection_interval and self._may_defer:
            self._deferred = (data, kind, frame01)  # the periodic check, after this frame's results are out
            result.detection_deferred = True
        elif needed or self._frame_index - self._last_detection >= cfg.detection_interval:
            found = self._detect(data, kind, frame01, result.issues)
            reseated, new_tracks = self._apply_detections(found, changed)
            alive = {id(t) for t in self.tracks.tracks}
            dropped = [t for t in changed if id(t) not in alive]
            heirs = (heirs or []) + dropped  # the face that left may be among this run's detections
            started = {id(t.detection) for t in new_tracks}
            spare = [d for d in found if id(d) not in started]
            if heirs:
                self.tracks.inherit_ids(new_tracks, heirs, cfg.track_iou_threshold, self._rules.reach)
            self._last_detection = self._frame_index
            self._redetect = False
            result.detector_ran = True
        if self._restart_next:  # started or re-seated by the deferred detection after the last frame
            alive = {id(t) for t in self.tracks.tracks}
            restart = [t for t in self._restart_next if id(t) in alive]
            self._restart_next = []
            new_tracks += [t for t in restart if t.landmarks is None]
            reseated += [t for t in restart if t.landmarks is not None]
        t2 = time.perf_counter()
        result.timings_ms["detect"] = result.timings_ms.get("detect", 0.0) + (t2 - t1) * 1e3

        tracks = new_tracks if dets is not None else list(self.tracks.tracks)
        # on a detector frame every track is re-cropped from its own landmarks once more: real faces move
        # between detector runs, and a crop that converged in the same frame holds on (Chips sequences:
        # hit 0.437 -> 0.456); between detector runs one pass per track keeps the frame rate
        # their box is a detection's: only the detection bound applies (once each: a deferred and an inline run
        # may both have re-seated a track)
        restarted = list({id(t): t for t in new_tracks + reseated}.values())
        refine = tracks if result.detector_ran else restarted
        fits = self._run_landmarks(frame01, tracks, refine, restarted) if tracks else {}
        t3 = time.perf_counter()
        result.timings_ms["landmarks"] = result.timings_ms.get("landmarks", 0.0) + (t3 - t2) * 1e3

        shown: List[Track] = []
        kept: List[Track] = []
        lost: List[Track] = list(dropped)
        fresh = {t.track_id for t in new_tracks}
        missed = {t.track_id for t in heirs or ()}
        for t in tracks:
            fit = fits.get(t.track_id, Fit.OK)
            if fit is Fit.TOO_LARGE or (t.presence is not None and t.presence < cfg.presence_threshold):
                self._redetect = True  # off the face (body-sized, or the model says no face): drop it now
                lost.append(t)
                continue
            if t.score < cfg.landmark_threshold or fit is not Fit.OK:
                if t.track_id not in missed:  # a miss counts once per frame, however many passes it took
                    t.misses += 1
                self._redetect = True
                lost.append(t)
                if t.misses <= cfg.max_track_misses and t.track_id not in fresh:
                    kept.append(t)
                continue
            t.misses = 0
            if t.score < cfg.redetect_threshold:
                self._redetect = True
            kept.append(t)
            shown.append(t)
        fitted = {id(t) for t in tracks}
        others = [t for t in self.tracks.tracks if id(t) not in fitted]  # tracks this step did not fit
        self.tracks.tracks = others + kept
        self._keep_thumbnails(frame01, kept)
        self.tracks.remove_duplicates()
        alive = {id(t) for t in self.tracks.tracks}
        return [t for t in shown if id(t) in alive], lost, spare

    def _check_stamp(self, stamp_s: float) -> Optional[Issue]:
        """The stamp policy: drop a frame not after the previous one; a big jump back is a new stream."""
        last = self._last_stamp
        if last is not None and stamp_s <= last:
            if last - stamp_s <= STAMP_JUMP_RESET_S:
                return Issue(Reason.OUT_OF_ORDER, f"dropped a frame with stamp {stamp_s:.6f} not after the "
                             f"previous {last:.6f} (out of order or repeated)")
            self.reset()
            self._last_stamp = stamp_s
            return Issue(Reason.TIME_JUMP, f"stamp jumped back {last - stamp_s:.1f} s: new stream, tracks reset")
        self._last_stamp = stamp_s
        return None

    def _detector_frame(self, data: np.ndarray, kind: str, frame01: np.ndarray) -> np.ndarray:
        return detector_frame(data, kind, frame01, self._norm_cfg)

    def _run_landmarks(self, frame01: np.ndarray, tracks: List[Track], refine: List[Track],
                       restarted: List[Track]) -> Dict[int, Fit]:
        """Landmarks for every track, all crops in one model call; the ``refine`` tracks (every track on a
        detector frame: a fresh detection box is coarse, a face may have moved) are re-cropped once from their
        landmarks (a second call). Returns each track's :class:`Fit`."""
        size = self.model.input_size
        scale = self.meta.crop_scale
        fresh = {t.track_id for t in restarted}
        fits: Dict[int, Fit] = {}
        for p in range(2 if refine else 1):
            todo = tracks if p == 0 else [t for t in refine if fits.get(t.track_id) is Fit.OK]
            if not todo:
                break
            mats = [t.crop(size, scale) for t in todo]
            out = self.model.run(np.stack([warp(frame01, m, size) for m in mats]))
            for k, (t, m) in enumerate(zip(todo, mats)):
                img_pts = transform_points(out.points[k], invert(m))
                t.score = float(np.mean(out.scores[k]))
                t.extras["scores"] = out.scores[k]
                t.presence = None if out.presence is None else float(out.presence[k])
                fits[t.track_id] = t.update_from_landmarks(img_pts, self._eye_pair, follow_roll=True,
                                                           rules=self._rules, fresh=t.track_id in fresh)
        return fits

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

    def _resolve_intrinsics(self, w: int, h: int) -> Optional[Issue]:
        """Fit the calibration to this image size once per (calibration, size); the note says how."""
        key = (id(self._calibration), w, h)
        if key == self._intrinsics_key:
            return None
        self._intrinsics_key = key
        approx = (approximate_intrinsics(w, h), None)
        if self._calibration is None:
            self._intrinsics, self.intrinsics_source = approx, "approximated"
            return Issue(Reason.INTRINSICS_APPROXIMATED, "no camera_info: head pose uses intrinsics approximated "
                         "from the image size (57 deg horizontal field of view)")
        try:
            k, d, note = intrinsics_for(self._calibration, w, h)
        except CameraInfoError as exc:
            self._intrinsics, self.intrinsics_source = approx, "approximated (camera_info ignored)"
            return Issue(Reason.CAMERA_INFO, f"camera_info ignored: {exc}; head pose uses intrinsics "
                         f"approximated from the image size")
        self._intrinsics = (k, d)
        self.intrinsics_source = "camera_info (scaled)" if note else "camera_info"
        return Issue(Reason.CAMERA_INFO, note) if note else None

    def _add_poses(self, faces: List[Face], w: int, h: int, result: FrameResult) -> None:
        if self._mean_face is None:
            return
        note = self._resolve_intrinsics(w, h)
        if note is not None:
            result.issues.append(note)
        K, dist = self._intrinsics
        poses = {}
        for f in faces:
            f.pose = estimate_pose(f.landmarks, self._mean_face, K, dist, f.scores,
                                   previous=self._last_pose.get(f.track_id))
            if f.pose is not None:
                poses[f.track_id] = f.pose
        self._last_pose = poses


def detector_frame(data: np.ndarray, kind: str, frame01: np.ndarray, norm_cfg: NormaliseConfig) -> np.ndarray:
    """The detector's view of a frame: a robust percentile window, as on the AGC frames it was fitted on.

    ``frame01`` is ``normalise(data, kind, norm_cfg)``; intensity frames go to the detector as that. For
    temperatures the window's top is capped at 38 °C (skin never exceeds it), so a hot lamp or radiator
    does not squash the faces into the middle of the range. Module-level so that detector training
    (``training/detector/real.py``) feeds the network exactly what the pipeline does.
    """
    if kind != KIND_TEMPERATURE:
        return frame01
    lo, hi = percentile_window(data, norm_cfg.percentiles, norm_cfg.percentile_subsample)
    hi = max(min(hi, SKIN_MAX_C), lo + 2.0)
    out = (data - np.float32(lo)) * np.float32(1.0 / (hi - lo))
    np.clip(out, 0.0, 1.0, out=out)
    out[~np.isfinite(out)] = 0.0
    return out
