"""Optional ROS4HRI face output (``hri_msgs``), switched by the ``publish_hri`` parameter.

- ``/humans/faces/tracked`` (``hri_msgs/IdsList``): ids of the faces in the current frame, every frame.
- ``/humans/faces/<id>/roi`` (``hri_msgs/NormalizedRegionOfInterest2D``): the box normalised to [0, 1],
  ``c`` = face confidence.
- ``/humans/faces/<id>/landmarks`` (``hri_msgs/FacialLandmarks``): the 70 points normalised to [0, 1],
  ``c`` = point confidence. Our ``ibug70`` order is the FacialLandmarks order; other schemes get no
  landmarks topic.

Ids are :func:`thermal_fld_ros.ros.face_ids.face_id` (same as the ``face_<id>`` TF frames). Per-face
publishers are created when a track appears and destroyed when it is gone, as ROS4HRI consumers expect.
"""
from __future__ import annotations

from typing import Dict, Sequence, Tuple

import numpy as np

from thermal_fld_ros.ros.face_ids import face_id
from thermal_fld_ros.types import Face

TRACKED_TOPIC = "/humans/faces/tracked"
FACE_TOPIC = "/humans/faces/{id}/{sub}"
HRI_LANDMARKS = 70  # hri_msgs/FacialLandmarks: iBUG-68 + right pupil + left pupil


def hri_available() -> Tuple[bool, str]:
    """(importable, reason) for hri_msgs."""
    try:
        import hri_msgs.msg  # noqa: F401
    except ImportError as exc:
        return False, f"hri_msgs is not importable ({exc}): install ros-<distro>-hri-msgs"
    return True, ""


def _unit(v: np.ndarray, size: float) -> np.ndarray:
    return np.clip(np.asarray(v, np.float64) / float(size), 0.0, 1.0)


def roi_message(header, face: Face, width: int, height: int):
    from hri_msgs.msg import NormalizedRegionOfInterest2D

    x0, y0, x1, y1 = np.asarray(face.box, np.float64).reshape(4)
    msg = NormalizedRegionOfInterest2D()
    msg.header = header
    msg.xmin, msg.xmax = (float(v) for v in _unit(np.array([x0, x1]), width))
    msg.ymin, msg.ymax = (float(v) for v in _unit(np.array([y0, y1]), height))
    msg.c = float(np.clip(face.score, 0.0, 1.0))
    return msg


def landmarks_message(header, face: Face, width: int, height: int):
    from hri_msgs.msg import FacialLandmarks, NormalizedPointOfInterest2D

    lm = np.asarray(face.landmarks, np.float64).reshape(-1, 2)
    sc = np.clip(np.nan_to_num(np.asarray(face.scores, np.float64).reshape(-1)), 0.0, 1.0)
    u, v = _unit(lm[:, 0], width), _unit(lm[:, 1], height)
    msg = FacialLandmarks()
    msg.header = header
    msg.width, msg.height = int(width), int(height)
    msg.landmarks = [NormalizedPointOfInterest2D(x=float(a), y=float(b), c=float(c)) for a, b, c in zip(u, v, sc)]
    return msg


class HriFacePublisher:
    """Publishes the ROS4HRI face topics of each frame (construct only when :func:`hri_available`)."""

    def __init__(self, node, scheme_name: str, num_points: int):
        from hri_msgs.msg import IdsList

        self._node = node
        self._IdsList = IdsList
        self._tracked = node.create_publisher(IdsList, TRACKED_TOPIC, 10)
        self.landmarks_supported = scheme_name == "ibug70" and int(num_points) == HRI_LANDMARKS
        self._faces: Dict[str, tuple] = {}  # id -> (roi publisher, landmarks publisher or None)

    def _publishers(self, fid: str):
        if fid not in self._faces:
            from hri_msgs.msg import FacialLandmarks, NormalizedRegionOfInterest2D

            roi = self._node.create_publisher(NormalizedRegionOfInterest2D, FACE_TOPIC.format(id=fid, sub="roi"), 10)
            lms = (self._node.create_publisher(FacialLandmarks, FACE_TOPIC.format(id=fid, sub="landmarks"), 10)
                   if self.landmarks_supported else None)
            self._faces[fid] = (roi, lms)
        return self._faces[fid]

    @property
    def face_ids(self) -> Tuple[str, ...]:
        return tuple(sorted(self._faces))

    def publish(self, header, faces: Sequence[Face], width: int, height: int) -> None:
        ids = [face_id(f.track_id) for f in faces]
        for gone in set(self._faces) - set(ids):
            for pub in self._faces.pop(gone):
                if pub is not None:
                    self._node.destroy_publisher(pub)
        for fid, face in zip(ids, faces):
            roi, lms = self._publishers(fid)
            roi.publish(roi_message(header, face, width, height))
            if lms is not None:
                lms.publish(landmarks_message(header, face, width, height))
        self._tracked.publish(self._IdsList(header=header, ids=ids))
