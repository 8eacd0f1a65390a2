"""Per-face TF frames (REP-155): ``face_<id>`` under the image's optical frame, on ``/tf``.

Axes as ``head_pose``: x out of the face, y to the subject's left, z up, origin between the eyes.
``tf2_ros.TransformBroadcaster`` is used when tf2_ros is installed (a ROS install); otherwise the
``tf2_msgs/TFMessage`` is published on ``/tf`` directly with the QoS tf2_ros uses (reliable, depth 100),
which is the same wire traffic. Without tf2_msgs the frames are off and the node says so once.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np
from geometry_msgs.msg import TransformStamped

from thermal_fld_ros.ros.face_ids import face_frame
from thermal_fld_ros.ros.rotation import quaternion_xyzw
from thermal_fld_ros.types import Face

TF_TOPIC = "/tf"
TF_QOS_DEPTH = 100  # tf2_ros.TransformBroadcaster's default


def face_transforms(header, faces: Sequence[Face]) -> List[TransformStamped]:
    """One transform per face that has a pose: parent = ``header.frame_id``, child = ``face_<id>``."""
    out = []
    for face in faces:
        if face.pose is None:
            continue
        t = np.asarray(face.pose.translation, np.float64).reshape(3)
        q = quaternion_xyzw(face.pose.rotation)
        if not (np.isfinite(t).all() and np.isfinite(q).all()):
            continue
        msg = TransformStamped()
        msg.header = header
        msg.child_frame_id = face_frame(face.track_id)
        tr, rot = msg.transform.translation, msg.transform.rotation
        tr.x, tr.y, tr.z = (float(v) for v in t)
        rot.x, rot.y, rot.z, rot.w = (float(v) for v in q)
        out.append(msg)
    return out


class FaceFramePublisher:
    """Sends ``face_<id>`` transforms; ``backend`` says which path is used (or why none)."""

    def __init__(self, node):
        self._send = None
        try:
            from tf2_ros import TransformBroadcaster
        except ImportError:
            TransformBroadcaster = None
        if TransformBroadcaster is not None:
            broadcaster = TransformBroadcaster(node)
            self._send = broadcaster.sendTransform
            self.backend = "tf2_ros.TransformBroadcaster"
            return
        try:
            from tf2_msgs.msg import TFMessage
        except ImportError:
            self.backend = "off: neither tf2_ros nor tf2_msgs is importable (install ros-<distro>-tf2-ros)"
            return
        pub = node.create_publisher(TFMessage, TF_TOPIC, TF_QOS_DEPTH)
        self._send = lambda transforms: pub.publish(TFMessage(transforms=list(transforms)))
        self.backend = "tf2_msgs/TFMessage on /tf"

    @property
    def active(self) -> bool:
        return self._send is not None

    def publish(self, header, faces: Sequence[Face]) -> Optional[int]:
        """Publish the frames of ``faces``; returns how many (None when TF output is off)."""
        if self._send is None:
            return None
        transforms = face_transforms(header, faces)
        if transforms:
            self._send(transforms)
        return len(transforms)
