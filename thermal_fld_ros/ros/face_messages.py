"""Pipeline results -> standard ROS 2 messages (header = the input image's header, optical frame).

- ``landmarks`` (``geometry_msgs/PolygonStamped``): the primary face's points in scheme order,
  x = u and y = v in image pixels, z = the point's confidence in [0, 1]. An empty polygon means no face.
- ``head_pose`` (``geometry_msgs/PoseStamped``): head origin (between the eyes) and head frame in the
  camera optical frame; axes REP-103/REP-155: x out of the face, y to the subject's left, z up.
- ``markers`` (``visualization_msgs/MarkerArray``): DELETEALL, then per face a SPHERE_LIST of the
  landmarks back-projected to the head depth, three ARROWs (x red, y green, z blue) and a text id.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point, Point32, PolygonStamped, PoseStamped
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from thermal_fld_ros.ros.rotation import quaternion_xyzw
from thermal_fld_ros.types import Face

AXIS_LENGTH_M = 0.10
POINT_DIAMETER_M = 0.004
_AXIS_COLOURS = ((1.0, 0.2, 0.2), (0.2, 1.0, 0.2), (0.3, 0.5, 1.0))


def landmarks_polygon(header, face: Optional[Face]) -> PolygonStamped:
    msg = PolygonStamped()
    msg.header = header
    if face is not None:
        rows = np.column_stack([np.asarray(face.landmarks, np.float64).reshape(-1, 2),
                                np.asarray(face.scores, np.float64).reshape(-1)]).tolist()
        msg.polygon.points = [Point32(x=u, y=v, z=s) for u, v, s in rows]  # plain floats: half the time
    return msg


def head_pose(header, face: Face) -> PoseStamped:
    """PoseStamped of a face that has a pose."""
    msg = PoseStamped()
    msg.header = header
    t = np.asarray(face.pose.translation, np.float64).reshape(3)
    q = quaternion_xyzw(face.pose.rotation)
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in t)
    o = msg.pose.orientation
    o.x, o.y, o.z, o.w = (float(v) for v in q)
    return msg


def back_project(points_uv: np.ndarray, depth: float, camera_matrix: np.ndarray) -> np.ndarray:
    """Pixels (N, 2) -> optical-frame points (N, 3) at depth ``depth`` (pinhole, no distortion)."""
    k = np.asarray(camera_matrix, np.float64)
    uv = np.asarray(points_uv, np.float64)
    x = (uv[:, 0] - k[0, 2]) / k[0, 0] * depth
    y = (uv[:, 1] - k[1, 2]) / k[1, 1] * depth
    return np.stack([x, y, np.full(len(uv), depth)], 1)


def _marker(header, ns: str, mid: int, mtype: int, lifetime_s: float) -> Marker:
    m = Marker()
    m.header = header
    m.ns, m.id, m.type, m.action = ns, mid, mtype, Marker.ADD
    m.pose.orientation.w = 1.0
    secs = int(lifetime_s)
    m.lifetime = Duration(sec=secs, nanosec=int(round((lifetime_s - secs) * 1e9)))
    m.frame_locked = False
    return m


def markers(header, faces: Sequence[Face], camera_matrix: Optional[np.ndarray],
            lifetime_s: float = 0.5) -> MarkerArray:
    """MarkerArray for RViz; faces without a pose (or without intrinsics) get no 3D markers."""
    out = MarkerArray()
    clear = Marker()
    clear.header = header
    clear.action = Marker.DELETEALL
    out.markers.append(clear)
    for face in faces:
        if face.pose is None or camera_matrix is None:
            continue
        t = np.asarray(face.pose.translation, np.float64).reshape(3)
        rot = np.asarray(face.pose.rotation, np.float64)
        if not (np.isfinite(t).all() and t[2] > 0):
            continue
        base = int(face.track_id) * 8
        pts = _marker(header, "landmarks", base, Marker.SPHERE_LIST, lifetime_s)
        pts.scale.x = pts.scale.y = pts.scale.z = POINT_DIAMETER_M
        pts.color = ColorRGBA(r=1.0, g=0.85, b=0.1, a=1.0)
        lm = np.asarray(face.landmarks, np.float64).reshape(-1, 2)
        ok = np.isfinite(lm).all(1)
        pts.points = [Point(x=float(a), y=float(b), z=float(c))
                      for a, b, c in back_project(lm[ok], float(t[2]), camera_matrix)]
        out.markers.append(pts)
        for axis in range(3):
            arrow = _marker(header, "head_axes", base + 1 + axis, Marker.ARROW, lifetime_s)
            end = t + rot[:, axis] * AXIS_LENGTH_M
            arrow.points = [Point(x=float(t[0]), y=float(t[1]), z=float(t[2])),
                            Point(x=float(end[0]), y=float(end[1]), z=float(end[2]))]
            arrow.scale.x, arrow.scale.y, arrow.scale.z = 0.006, 0.012, 0.02  # shaft, head diameter, head length
            r, g, b = _AXIS_COLOURS[axis]
            arrow.color = ColorRGBA(r=r, g=g, b=b, a=1.0)
            out.markers.append(arrow)
        text = _marker(header, "track_id", base + 4, Marker.TEXT_VIEW_FACING, lifetime_s)
        # Above the head: optical y points down, so "up" is -y in the camera frame.
        text.pose.position.x, text.pose.position.y, text.pose.position.z = float(t[0]), float(t[1]) - 0.15, float(t[2])
        text.scale.z = 0.04
        text.color = ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0)
        text.text = f"id {face.track_id} ({face.score:.2f})"
        out.markers.append(text)
    return out
