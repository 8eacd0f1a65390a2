"""Face tracks: stable ids, crops that follow each face from its previous landmarks.

Between detector runs a face is cropped from its last landmarks (as MediaPipe does), which is both
cheaper than detecting and closer to the framing the model was trained on. A crop follows in-plane roll
(the eye line), so a tilted head is seen upright.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np

from .crop import crop_matrix
from .detector import Detection, box_iou
from .smoothing import OneEuroFilter


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

    def crop(self, input_size: Tuple[int, int], scale: float) -> np.ndarray:
        """2x3 image -> crop matrix for this track's next frame."""
        if self.centre is None:
            return crop_matrix(self.box, input_size, scale)
        half = self.side / 2.0
        box = np.array([self.centre[0] - half, self.centre[1] - half, self.centre[0] + half, self.centre[1] + half])
        return crop_matrix(box, input_size, scale, angle_deg=self.angle_deg)

    def update_from_landmarks(self, points: np.ndarray, eye_pair: Optional[Tuple[int, int]], follow_roll: bool):
        """Next crop from this frame's landmarks (raw, not smoothed: smoothing would lag the crop)."""
        pts = points[np.isfinite(points).all(1)]
        if len(pts) < 2:
            return
        self.landmarks = points
        self.box = np.array([pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()])
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


def _centre_inside(inner: np.ndarray, outer: np.ndarray) -> bool:
    cx, cy = (inner[0] + inner[2]) / 2.0, (inner[1] + inner[3]) / 2.0
    return bool(outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3])


class TrackSet:
    """Tracks and their id counter; matches detections to tracks by box IoU."""

    def __init__(self):
        self.tracks: List[Track] = []
        self._next_id = 1

    def reset(self) -> None:
        self.tracks = []
        self._next_id = 1

    def add_detections(self, dets: List[Detection], iou_threshold: float, max_faces: int) -> List[Track]:
        """Start tracks for detections that overlap no existing track; returns the new tracks."""
        new = []
        for d in dets:
            if len(self.tracks) >= max_faces:
                break
            if any(box_iou(d.box, t.box) >= iou_threshold or _centre_inside(d.box, t.box) for t in self.tracks):
                continue  # the same face as an existing track
            t = Track(track_id=self._next_id, box=np.asarray(d.box, np.float64), score=d.score)
            self._next_id += 1
            self.tracks.append(t)
            new.append(t)
        return new

    def remove_duplicates(self, iou: float = 0.5) -> None:
        """Two tracks that converged on one face: keep the older."""
        keep: List[Track] = []
        for t in sorted(self.tracks, key=lambda t: t.track_id):
            if all(box_iou(t.box, k.box) < iou for k in keep):
                keep.append(t)
        self.tracks = keep
