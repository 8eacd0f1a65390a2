"""One id per face track for every ROS output that names faces (TF frames, ROS4HRI topics).

ROS 2 name tokens must not start with a digit, so track 7 becomes id ``f7``: TF frame ``face_f7``
(REP-155) and topics ``/humans/faces/f7/...`` (ROS4HRI) name the same face.
"""
from __future__ import annotations

FRAME_PREFIX = "face_"


def face_id(track_id: int) -> str:
    return f"f{int(track_id)}"


def face_frame(track_id: int) -> str:
    return FRAME_PREFIX + face_id(track_id)
