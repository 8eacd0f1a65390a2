"""Face tracks: stable ids, crops that follow each face from its previous landmarks.

Between detector runs a face is cropped from its last landmarks (as MediaPipe does), which is both
cheaper than detecting and closer to the framing the model was trained on. A crop follows in-plane roll
(the eye line), so a tilted head is seen upright.

Following landmarks alone lets a track slide off a face onto a shoulder or a body (landmarks fitted to
a non-face spread out, the next crop grows, and so on). So a track obeys three bounds (:class:`TrackRules`):
its landmark box may change size by at most ``max_scale_step`` per frame (a bigger jump is a miss: the
crop stays where it was), it may never grow beyond ``max_size_vs_detection`` times the face box of the
detection that last confirmed it (then it is dropped), and every detector run must confirm it (a
detection on it) at least once in ``max_unconfirmed`` runs; a confirmed track that has slid off its
detection restarts from the detection box (same id).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import List, Optional, Tuple

import numpy as np

from .crop import crop_matrix
from .detector import Detection, box_iou
from .smoothing import OneEuroFilter


class Fit(str, Enum):
    """What this frame's landmarks did to a track's box."""

    OK = "ok"  # followed
    JUMPED = "jumped"  # size changed by more than max_scale_step in one frame: a miss, the crop stays
    TOO_LARGE = "too_large"  # beyond max_size_vs_detection x its detection's face: the track is dropped
    NO_POINTS = "no_points"  # fewer than two finite landmarks


@dataclass(frozen=True)
class TrackRules:
    max_scale_step: float = 1.25  # most size change of the landmark box per frame (either way)
    max_size_vs_detection: float = 2.0  # most landmark-box side / side of the detection that confirmed it
    max_unconfirmed: int = 2  # detector runs in a row without a detection on a track before it is dropped
    reseat_iou: float = 0.5  # a confirmed track overlapping its detection less than this restarts from it
    reach: float = 1.0  # a detection this many box sides from a track's centre still confirms it


def box_side(box) -> float:
    return float(max(box[2] - box[0], box[3] - box[1]))


@dataclass
class Track:
    track_id: int
    box: np.ndarray  # landmarks_box convention, image pixels, axis aligned
    angle_deg: float = 0.0  # in-plane roll of the crop
    centre: Optional[np.ndarray] = None  # crop centre in the rotated frame (None: box centre)
    side: float = 0.0  # max side of the landmark box in the rotated frame
    landmarks: Optional[np.ndarray] = None  # last raw landmarks (N, 2)
    misses: int = 0
    age_frames: int = 0
    score: float = 0.0
    filter: Optional[OneEuroFilter] = None
    extras: dict = field(default_factory=dict)
    detection_side: float = 0.0  # face-box side of the detection that last confirmed this track
    unconfirmed: int = 0  # detector runs since a detection last confirmed it
    presence: Optional[float] = None  # last P(face) from the landmark model (None: the model has none)
    detection: Optional[Detection] = None  # the detection that started it
    thumbnail: Optional[np.ndarray] = None  # its box's content on the last frame (appearance.py)

    def __post_init__(self):
        if self.detection_side <= 0:
            self.detection_side = box_side(self.box)

    def crop(self, input_size: Tuple[int, int], scale: float) -> np.ndarray:
        """2x3 image -> crop matrix for this track's next frame."""
        if self.centre is None:
            return crop_matrix(self.box, input_size, scale)
        half = self.side / 2.0
        box = np.array([self.centre[0] - half, self.centre[1] - half, self.centre[0] + half, self.centre[1] + half])
        return crop_matrix(box, input_size, scale, angle_deg=self.angle_deg)

    def update_from_landmarks(self, points: np.ndarray, eye_pair: Optional[Tuple[int, int]], follow_roll: bool,
                              rules: TrackRules = TrackRules(), fresh: bool = False) -> Fit:
        """Next crop from this frame's landmarks (raw, not smoothed: smoothing would lag the crop).

        ``fresh``: the box is a detector's (coarse), so only the bound against the detection applies.
        The track changes only when the result is :attr:`Fit.OK`.
        """
        pts = points[np.isfinite(points).all(1)]
        if len(pts) < 2:
            return Fit.NO_POINTS
        box = np.array([pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()])
        side = box_side(box)
        if side > rules.max_size_vs_detection * self.detection_side:
            return Fit.TOO_LARGE
        prev = box_side(self.box)
        if not fresh and prev > 0 and not (1.0 / rules.max_scale_step <= side / prev <= rules.max_scale_step):
            return Fit.JUMPED
        self.landmarks = points
        self.box = box
        angle = 0.0
        if follow_roll and eye_pair is not None and np.isfinite(points[list(eye_pair)]).all():
            d = points[eye_pair[1]] - points[eye_pair[0]]
            angle = float(np.degrees(np.arctan2(d[1], d[0])))
            if abs(angle) > 90:  # eyes swapped (mirror or garbage): do not flip the crop
                angle = 0.0
        a = np.deg2rad(angle)
        c, s = np.cos(a), np.sin(a)
        rot = np.array([[c, s], [-s, c]])  # image -> upright frame
        up = pts @ rot.T
        lo, hi = up.min(0), up.max(0)
        self.side = float(max(hi - lo))
        self.centre = ((lo + hi) / 2.0) @ rot  # back to image coordinates
        self.angle_deg = angle
        return Fit.OK


def _centre_inside(inner: np.ndarray, outer: np.ndarray) -> bool:
    cx, cy = (inner[0] + inner[2]) / 2.0, (inner[1] + inner[3]) / 2.0
    return bool(outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3])


def _same_face(det_box, track_box, iou_threshold: float, reach: float = 0.0) -> bool:
    """A detection on a track: overlapping, its centre inside the track's box, or (``reach`` > 0) its centre
    within ``reach`` x the larger box side of the track's centre (a face that moved between detector runs)."""
    if box_iou(det_box, track_box) >= iou_threshold or _centre_inside(det_box, track_box):
        return True
    if reach <= 0:
        return False
    dist = float(np.hypot(*(_centre(det_box) - _centre(track_box))))
    return dist <= reach * max(box_side(det_box), box_side(track_box))


def _centre(box) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0])


class TrackSet:
    """Tracks and their id counter; matches detections to tracks by box IoU."""

    def __init__(self):
        self.tracks: List[Track] = []
        self._next_id = 1

    def reset(self) -> None:
        self.tracks = []
        self._next_id = 1

    def confirm(self, dets: List[Detection], iou_threshold: float, rules: TrackRules,
                changed: Tuple[Track, ...] = ()) -> List[Track]:
        """Check every live track against a detector run; returns the tracks re-seated on their detection.

        A detection on a track (IoU or its centre inside) whose face is not much smaller than the track's
        box confirms it and becomes its size reference; when the track's box disagrees with it (IoU below
        ``rules.reseat_iou``: slid off, or grown/shrunk around the face) the track keeps its id but restarts
        from the detection box, then is re-cropped from its landmarks (Chips sequences, detector on every
        frame: hit 0.561 -> 0.609 against also asking the detection's centre to lie outside the box). A track
        unconfirmed ``rules.max_unconfirmed`` runs in a row is dropped; a ``changed`` one (its box no longer
        holds its face: appearance.py) on the first run that does not confirm it.
        """
        dropped, reseated = [], []
        stale = {id(t) for t in changed}
        for t in self.tracks:
            side = box_side(t.box)
            match = [d for d in dets if _same_face(d.box, t.box, iou_threshold, rules.reach)
                     and side <= rules.max_size_vs_detection * box_side(d.box)]
            if match:
                best = max(match, key=lambda d: box_iou(d.box, t.box))
                t.unconfirmed = 0
                t.detection_side = box_side(best.box)
                if box_iou(best.box, t.box) < rules.reseat_iou:
                    t.box, t.centre, t.side, t.angle_deg = np.asarray(best.box, np.float64), None, 0.0, 0.0
                    reseated.append(t)
            else:
                t.unconfirmed += 1
                if t.unconfirmed >= rules.max_unconfirmed or id(t) in stale:
                    dropped.append(t)
        gone = {t.track_id for t in dropped}
        self.tracks = [t for t in self.tracks if t.track_id not in gone]
        return reseated

    def add_detections(self, dets: List[Detection], iou_threshold: float, max_faces: int) -> List[Track]:
        """Start tracks for detections that overlap no existing track; returns the new tracks."""
        new = []
        for d in dets:
            if len(self.tracks) >= max_faces:
                break
            if any(_same_face(d.box, t.box, iou_threshold) for t in self.tracks):
                continue  # the same face as an existing track
            t = Track(track_id=self._next_id, box=np.asarray(d.box, np.float64), score=d.score, detection=d)
            self._next_id += 1
            self.tracks.append(t)
            new.append(t)
        return new

    def inherit_ids(self, new: List[Track], lost: List[Track], iou_threshold: float, reach: float) -> None:
        """Give a new track the id of a track lost on this same frame where it starts (the nearest one, by
        centre): the same face found again by the detector, not a new person. A lost track still alive
        (a miss) keeps its own id and is never inherited."""
        fresh = {id(t) for t in new}
        alive = {t.track_id for t in self.tracks if id(t) not in fresh}
        free = [t for t in lost if t.track_id not in alive]
        for t in new:
            near = [o for o in free if _same_face(t.box, o.box, iou_threshold, reach)]
            if near:
                heir = min(near, key=lambda o: float(np.hypot(*(_centre(t.box) - _centre(o.box)))))
                free.remove(heir)
                t.track_id = heir.track_id

    def remove_duplicates(self, iou: float = 0.5) -> None:
        """Two tracks that converged on one face: keep the older."""
        keep: List[Track] = []
        for t in sorted(self.tracks, key=lambda t: t.track_id):
            if all(box_iou(t.box, k.box) < iou for k in keep):
                keep.append(t)
        self.tracks = keep
